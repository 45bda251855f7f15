//! Major version upgrade through PGO's `PGUpgrade` flow. Each run reads where things stand and
//! does the next step, so a crash or a retry anywhere is harmless:
//!
//! 1. The cluster's `spec.postgresVersion` already is the target (step 4 ran): wait until it
//!    runs it with every instance ready, then remove the PGUpgrade. Done.
//! 2. A PGUpgrade `<cluster>-upgrade` of another operation is removed first; ours is applied
//!    (`fromPostgresVersion` = the stored spec's version).
//! 3. While it runs: the cluster carries `allow-upgrade=<pgupgrade>` and `shutdown: true`; PGO
//!    checks its preconditions (reported on `Progressing`) and runs `pg_upgrade` in a Job.
//! 4. `Succeeded` True: `postgresVersion` becomes the target (with the platform's approved
//!    image of that major as `image`, or none: PGO's default), `shutdown` false, the annotation
//!    goes; the instances start on the new version (PGO then upgrades the backup stanza and
//!    takes a new full backup).
//! 5. `Succeeded` False, or a check that cannot pass: the annotation goes and `shutdown` is
//!    false again, so the cluster starts on its old version (its data was not touched); once it
//!    is ready the operation fails with PGO's reason.

use kube::api::{Api, DeleteParams, DynamicObject, Patch};
use serde_json::{Value, json};
use uuid::Uuid;

use super::actions::{annotation, clusters, params, ready_instances, trigger};
use super::errors::classify;
use super::labels::{MANAGED_BY, MANAGED_BY_VALUE, TENANT_NAME};
use super::resources::pgupgrade;
use crate::platform::{ActionProgress, ClusterTarget, PlatformError};

/// PGO reads it on the cluster: the name of the PGUpgrade allowed to upgrade it.
pub const ALLOW_UPGRADE_ANNOTATION: &str = "postgres-operator.crunchydata.com/allow-upgrade";
/// On the PGUpgrade: the pgplane operation it belongs to.
pub const OPERATION_ANNOTATION: &str = "pgplane.io/operation";

/// `Progressing` reasons after which PGO never goes on with this PGUpgrade.
const DEAD_ENDS: &[&str] = &["PGUpgradeInvalid", "PGUpgradeInvalidForCluster"];

/// The PGUpgrade of `cluster` (cluster names are at most 37 characters, so this fits 63).
pub fn pgupgrade_name(cluster: &str) -> String {
    format!("{cluster}-upgrade")
}

fn upgrades(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &pgupgrade())
}

pub async fn upgrade(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    to: u32,
    to_image: Option<&str>,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let name = &target.spec.name;
    let from = target.spec.postgres_version;
    let upgrade_name = pgupgrade_name(name);
    let cluster = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;

    if version(&cluster.data["spec"]["postgresVersion"]) == Some(to) {
        return finish(client, namespace, target, &cluster, to).await;
    }

    let id = operation.to_string();
    let request = match upgrades(client, namespace)
        .get_opt(&upgrade_name)
        .await
        .map_err(|e| classify(&e))?
    {
        Some(other) if annotation(&other, OPERATION_ANNOTATION) != Some(id.as_str()) => {
            remove(client, namespace, &upgrade_name).await?;
            return Ok(ActionProgress::Waiting(format!(
                "the PGUpgrade {upgrade_name} of an earlier upgrade to be removed"
            )));
        }
        Some(ours) => ours,
        None => {
            let manifest = manifest(target, &upgrade_name, from, to, &id);
            upgrades(client, namespace)
                .patch(&upgrade_name, &params().force(), &Patch::Apply(manifest))
                .await
                .map_err(|e| classify(&e))?
        }
    };

    let conditions = &request.data["status"]["conditions"];
    let succeeded = condition(conditions, "Succeeded");
    let progressing = condition(conditions, "Progressing");
    if succeeded.is_some_and(|c| c["status"] == "True") {
        allow_upgrade(
            client,
            namespace,
            name,
            None,
            // The approved image of the new major, or PGO's default (never the old major's).
            json!({"postgresVersion": to, "shutdown": false, "image": to_image}),
        )
        .await?;
        return Ok(ActionProgress::Waiting(format!(
            "{name} to start on PostgreSQL {to}"
        )));
    }
    let failure = match (succeeded, progressing) {
        (Some(c), _) if c["status"] == "False" => Some(c),
        (_, Some(c))
            if c["status"] == "False"
                && DEAD_ENDS.contains(&c["reason"].as_str().unwrap_or_default()) =>
        {
            Some(c)
        }
        _ => None,
    };
    if let Some(failure) = failure {
        return roll_back(client, namespace, target, &cluster, from, to, failure).await;
    }

    if annotation(&cluster, ALLOW_UPGRADE_ANNOTATION) != Some(upgrade_name.as_str())
        || cluster.data["spec"]["shutdown"] != json!(true)
    {
        allow_upgrade(
            client,
            namespace,
            name,
            Some(&upgrade_name),
            json!({"shutdown": true}),
        )
        .await?;
    }
    let step = match progressing.and_then(|c| c["reason"].as_str()) {
        Some("PGClusterNotShutdown") => format!("the operator to shut {name} down for the upgrade"),
        _ => format!("the upgrade of {name} from PostgreSQL {from} to {to} (pg_upgrade)"),
    };
    Ok(ActionProgress::Waiting(step))
}

/// Step 1: the version is bumped; done once the cluster runs it.
async fn finish(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    cluster: &DynamicObject,
    to: u32,
) -> Result<ActionProgress, PlatformError> {
    let name = &target.spec.name;
    let running = version(&cluster.data["status"]["postgresVersion"]);
    let ready = ready_instances(cluster);
    if running != Some(to) || ready < i64::from(target.spec.instances) {
        return Ok(ActionProgress::Waiting(format!(
            "{name} to start on PostgreSQL {to} ({ready} of {} instances ready)",
            target.spec.instances
        )));
    }
    remove(client, namespace, &pgupgrade_name(name)).await?;
    Ok(ActionProgress::done())
}

/// Step 5: start the cluster again on its old version, then fail with PGO's reason.
async fn roll_back(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    cluster: &DynamicObject,
    from: u32,
    to: u32,
    failure: &Value,
) -> Result<ActionProgress, PlatformError> {
    let name = &target.spec.name;
    if annotation(cluster, ALLOW_UPGRADE_ANNOTATION).is_some()
        || cluster.data["spec"]["shutdown"] == json!(true)
    {
        allow_upgrade(client, namespace, name, None, json!({"shutdown": false})).await?;
    }
    let ready = ready_instances(cluster);
    if ready < i64::from(target.spec.instances) {
        return Ok(ActionProgress::Waiting(format!(
            "{name} to start again on PostgreSQL {from} after the failed upgrade ({ready} of {} instances ready)",
            target.spec.instances
        )));
    }
    remove(client, namespace, &pgupgrade_name(name)).await?;
    let reason = failure["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .or_else(|| failure["reason"].as_str())
        .unwrap_or("the upgrade Job failed");
    Err(PlatformError::Rejected(format!(
        "the upgrade to PostgreSQL {to} failed: {reason}; {name} runs PostgreSQL {from} again, its data unchanged"
    )))
}

/// Sets the cluster's `allow-upgrade` annotation to `pgupgrade` (removes it for `None`)
/// together with the `spec` fields that go with that step.
async fn allow_upgrade(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    pgupgrade: Option<&str>,
    spec: Value,
) -> Result<(), PlatformError> {
    let patch = json!({
        "metadata": {"annotations": {ALLOW_UPGRADE_ANNOTATION: pgupgrade}},
        "spec": spec,
    });
    trigger(client, namespace, name, patch).await.map(|_| ())
}

async fn remove(client: &kube::Client, namespace: &str, name: &str) -> Result<(), PlatformError> {
    match upgrades(client, namespace)
        .delete(name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(classify(&e)),
    }
}

fn manifest(target: &ClusterTarget, name: &str, from: u32, to: u32, operation: &str) -> Value {
    json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PGUpgrade",
        "metadata": {
            "name": name,
            "labels": {
                MANAGED_BY: MANAGED_BY_VALUE,
                TENANT_NAME: target.tenant.tenant_name,
            },
            "annotations": {OPERATION_ANNOTATION: operation},
        },
        "spec": {
            "postgresClusterName": target.spec.name,
            "fromPostgresVersion": from,
            "toPostgresVersion": to,
        },
    })
}

fn condition<'a>(conditions: &'a Value, kind: &str) -> Option<&'a Value> {
    conditions.as_array()?.iter().find(|c| c["type"] == kind)
}

fn version(value: &Value) -> Option<u32> {
    value.as_u64().and_then(|v| u32::try_from(v).ok())
}
