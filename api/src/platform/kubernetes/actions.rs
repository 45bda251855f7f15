//! Day-2 actions through PGO. Each is level-triggered and idempotent: the first run writes the
//! trigger (a PGO annotation whose value is the operation id, plus the spec block PGO reads
//! with it, under the field manager `pgplane-actions` so the regular apply never removes it),
//! and every run reads the status to tell whether PGO has finished *this* request:
//!
//! | action | trigger | finished when |
//! |---|---|---|
//! | backup | `pgbackrest-backup` + `spec.backups.pgbackrest.manual` | `status.pgbackrest.manualBackup.id` = op and `finished` |
//! | restore | `pgbackrest-restore` + `spec.backups.pgbackrest.restore` | `status.pgbackrest.restore.id` = op and `finished`, then every instance ready |
//! | switchover | `trigger-switchover` + `spec.patroni.switchover` | `status.patroni.switchover` = op |
//! | upgrade | a `PGUpgrade`, `allow-upgrade` + `spec.shutdown` (see [`super::upgrade`]) | the PGUpgrade `Succeeded`, then the cluster ready on the new version |
//! | password | the `<cluster>-pguser-<user>` Secret's `password`/`verifier` emptied, annotated `pgplane.io/rotation` = op | PGO has written a new password there |

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use uuid::Uuid;

use super::errors::classify;
use super::labels::{PGO_INSTANCE, PGO_ROLE};
use super::resources::postgrescluster;
use crate::domain::cluster::naming::{BACKUP_REPO_NAME, user_secret_name};
use crate::platform::{
    ActionProgress, BackupFacts, BackupType, ClusterTarget, ConnectionFacts, PlatformError,
};

pub const BACKUP_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-backup";
pub const RESTORE_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-restore";
pub const SWITCHOVER_ANNOTATION: &str = "postgres-operator.crunchydata.com/trigger-switchover";
/// Marks the user Secret whose password a pgplane operation asked PGO to regenerate.
pub const ROTATION_ANNOTATION: &str = "pgplane.io/rotation";
/// On that Secret: PGO's `status.usersRevision` when the rotation began; a different revision
/// says PGO has put the new password into PostgreSQL.
pub const ROTATION_FROM_REVISION: &str = "pgplane.io/rotation-from-revision";
/// Owner of the action fields, apart from `pgplane` (the desired spec), so applies keep them.
pub const ACTIONS_FIELD_MANAGER: &str = "pgplane-actions";

pub(super) fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(ACTIONS_FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

pub(super) fn clusters(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &postgrescluster())
}

pub(super) async fn trigger(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    patch: Value,
) -> Result<DynamicObject, PlatformError> {
    clusters(client, namespace)
        .patch(name, &params(), &Patch::Merge(patch))
        .await
        .map_err(|e| classify(&e))
}

pub(super) fn annotation<'a>(object: &'a DynamicObject, key: &str) -> Option<&'a str> {
    object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn time(value: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    value.as_str()?.parse().ok()
}

fn pgbackrest_type(backup_type: BackupType) -> &'static str {
    match backup_type {
        BackupType::Full => "full",
        BackupType::Differential => "diff",
        BackupType::Incremental => "incr",
    }
}

pub async fn backup(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    backup_type: BackupType,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let id = operation.to_string();
    let name = &target.spec.name;
    let mut object = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;
    if annotation(&object, BACKUP_ANNOTATION) != Some(id.as_str()) {
        let patch = json!({
            "metadata": {"annotations": {BACKUP_ANNOTATION: id}},
            "spec": {"backups": {"pgbackrest": {"manual": {
                "repoName": BACKUP_REPO_NAME,
                "options": [format!("--type={}", pgbackrest_type(backup_type))],
            }}}},
        });
        object = trigger(client, namespace, name, patch).await?;
    }
    let manual = &object.data["status"]["pgbackrest"]["manualBackup"];
    if manual["id"].as_str() != Some(id.as_str()) || manual["finished"] != json!(true) {
        return Ok(ActionProgress::Waiting(format!(
            "the operator to take the {} backup of {name} (a manual backup waits for the first full backup)",
            backup_type.as_str()
        )));
    }
    if manual["succeeded"].as_i64().unwrap_or(0) < 1 {
        return Err(PlatformError::Rejected(format!(
            "the backup failed: {}",
            condition_message(&object, "PGBackRestManualBackupSuccessful")
                .unwrap_or_else(|| "the pgBackRest backup Job failed".into())
        )));
    }
    Ok(ActionProgress::Done {
        connection: None,
        backup: Some(BackupFacts {
            backup_type,
            started_at: time(&manual["startTime"]),
            finished_at: time(&manual["completionTime"]),
        }),
    })
}

pub async fn restore(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    target_time: Option<chrono::DateTime<chrono::Utc>>,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let id = operation.to_string();
    let name = &target.spec.name;
    let mut object = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;
    if annotation(&object, RESTORE_ANNOTATION) != Some(id.as_str()) {
        let options: Vec<String> = match target_time {
            Some(at) => vec![
                "--type=time".into(),
                format!("--target=\"{}\"", at.format("%Y-%m-%d %H:%M:%S%.6f+00")),
            ],
            None => Vec::new(), // replay all WAL: the latest state
        };
        let patch = json!({
            "metadata": {"annotations": {RESTORE_ANNOTATION: id}},
            "spec": {"backups": {"pgbackrest": {"restore": {
                "enabled": true,
                "repoName": BACKUP_REPO_NAME,
                "options": options,
            }}}},
        });
        object = trigger(client, namespace, name, patch).await?;
    }
    let restore = &object.data["status"]["pgbackrest"]["restore"];
    if restore["id"].as_str() != Some(id.as_str()) || restore["finished"] != json!(true) {
        return Ok(ActionProgress::Waiting(format!(
            "the operator to restore {name} (every instance is stopped while it runs)"
        )));
    }
    if restore["succeeded"].as_i64().unwrap_or(0) < 1 {
        return Err(PlatformError::Rejected(format!(
            "the restore failed: {}",
            // PGO reports a failed restore on `PostgresDataInitialized` (reason
            // `PGBackRestRestoreFailed`); the instances stay down until the next restore.
            condition_message(&object, "PostgresDataInitialized")
                .unwrap_or_else(|| "the pgBackRest restore Job failed".into())
        )));
    }
    let ready = ready_instances(&object);
    if ready < i64::from(target.spec.instances) {
        return Ok(ActionProgress::Waiting(format!(
            "{name} to start again after the restore ({ready} of {} instances ready)",
            target.spec.instances
        )));
    }
    // Done: disable the restore block so a later edit of the annotation cannot repeat it.
    trigger(
        client,
        namespace,
        name,
        json!({"spec": {"backups": {"pgbackrest": {"restore": {"enabled": false}}}}}),
    )
    .await?;
    Ok(ActionProgress::done())
}

pub async fn switchover(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    target_instance: Option<&str>,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let id = operation.to_string();
    let name = &target.spec.name;
    let mut object = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;
    if annotation(&object, SWITCHOVER_ANNOTATION) != Some(id.as_str()) {
        if let Some(instance) = target_instance {
            check_switchover_target(client, namespace, name, instance).await?;
        }
        let mut switchover = json!({"enabled": true});
        if let Some(instance) = target_instance {
            switchover["targetInstance"] = json!(instance);
        } else {
            switchover["targetInstance"] = Value::Null;
        }
        let patch = json!({
            "metadata": {"annotations": {SWITCHOVER_ANNOTATION: id}},
            "spec": {"patroni": {"switchover": switchover}},
        });
        object = trigger(client, namespace, name, patch).await?;
    }
    if object.data["status"]["patroni"]["switchover"].as_str() != Some(id.as_str()) {
        let to = target_instance.unwrap_or("the best replica");
        return Ok(ActionProgress::Waiting(format!(
            "the operator to switch {name} over to {to}"
        )));
    }
    Ok(ActionProgress::done())
}

/// Patroni ignores a switchover to an instance that does not exist or already leads, and PGO
/// reports nothing: refuse those at once, naming the instances there are (from their Pods).
async fn check_switchover_target(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    target: &str,
) -> Result<(), PlatformError> {
    let pods = super::exec::instance_pods(client, namespace, cluster).await?;
    let mut instances: Vec<(String, bool)> = pods
        .iter()
        .filter_map(|pod| {
            let labels = pod.metadata.labels.as_ref()?;
            let leads = labels
                .get(PGO_ROLE)
                .is_some_and(|r| r == "master" || r == "primary");
            Some((labels.get(PGO_INSTANCE)?.clone(), leads))
        })
        .collect();
    instances.sort();
    instances.dedup();
    if instances.is_empty() {
        return Ok(()); // nothing to compare with: let Patroni decide
    }
    match instances.iter().find(|(name, _)| name == target) {
        Some((_, true)) => Err(PlatformError::Rejected(format!(
            "`{target}` already is the primary of {cluster}"
        ))),
        Some((_, false)) => Ok(()),
        None => Err(PlatformError::Rejected(format!(
            "{cluster} has no instance `{target}`; its instances are {}",
            instances
                .iter()
                .map(|(name, leads)| if *leads {
                    format!("{name} (primary)")
                } else {
                    name.clone()
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub async fn rotate_password(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    user: &str,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let id = operation.to_string();
    let name = &target.spec.name;
    let secret_name = user_secret_name(name, user);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut secret = secrets.get(&secret_name).await.map_err(|e| classify(&e))?;
    let secret_annotation = |s: &Secret, key: &str| {
        s.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .cloned()
    };
    let marked = secret_annotation(&secret, ROTATION_ANNOTATION).is_some_and(|v| v == id);
    let live = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;
    let revision = live.data["status"]["usersRevision"].as_str().unwrap_or("");
    if !marked {
        // PGO confirms a new password only by executing it in PostgreSQL and recording the
        // hash of what it executed (`reconcilePostgresUsersInPostgreSQL`: `usersRevision`,
        // which covers every verifier): remember the revision the old password had.
        let patch = json!({
            "metadata": {"annotations": {
                ROTATION_ANNOTATION: id,
                ROTATION_FROM_REVISION: revision,
            }},
            "data": {"password": "", "verifier": ""},
        });
        secret = secrets
            .patch(&secret_name, &params(), &Patch::Merge(patch))
            .await
            .map_err(|e| classify(&e))?;
    }
    let password = secret
        .data
        .as_ref()
        .and_then(|d| d.get("password"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .filter(|p| !p.is_empty());
    let Some(password) = password else {
        return Ok(ActionProgress::Waiting(format!(
            "the operator to generate a new password in Secret {secret_name}"
        )));
    };
    let from = secret_annotation(&secret, ROTATION_FROM_REVISION).unwrap_or_default();
    if revision.is_empty() || revision == from {
        return Ok(ActionProgress::Waiting(format!(
            "the operator to set the new password of `{user}` in PostgreSQL (status.usersRevision still {})",
            if from.is_empty() {
                "unset"
            } else {
                from.as_str()
            }
        )));
    }
    let connection = Some(Box::new(if user == target.spec.owner {
        ConnectionFacts {
            password: Some(password),
            ..ConnectionFacts::default()
        }
    } else {
        ConnectionFacts {
            role_passwords: [(user.to_string(), password)].into(),
            ..ConnectionFacts::default()
        }
    }));
    Ok(ActionProgress::Done {
        connection,
        backup: None,
    })
}

pub(super) fn condition_message(object: &DynamicObject, kind: &str) -> Option<String> {
    object.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "False")
        .and_then(|c| c["message"].as_str())
        .filter(|m| !m.is_empty())
        .map(String::from)
}

/// Ready PostgreSQL instances over every instance set (PGO `status.instances[].readyReplicas`).
pub(super) fn ready_instances(object: &DynamicObject) -> i64 {
    instances_sum(object, "readyReplicas")
}

/// `key` (`readyReplicas`, `updatedReplicas`, ...) summed over PGO's `status.instances[]`.
pub(super) fn instances_sum(object: &DynamicObject, key: &str) -> i64 {
    object.data["status"]["instances"]
        .as_array()
        .map(|sets| sets.iter().map(|s| s[key].as_i64().unwrap_or(0)).sum())
        .unwrap_or(0)
}
