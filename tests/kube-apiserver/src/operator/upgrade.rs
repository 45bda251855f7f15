//! Major upgrades, as PGO's `PGUpgradeReconciler`: a `PGUpgrade`
//! (`postgres-operator.crunchydata.com/v1beta1`, `spec.postgresClusterName`,
//! `fromPostgresVersion`, `toPostgresVersion`) upgrades its cluster once every precondition
//! holds. Each reconcile walks PGO's checks in order and reports the first that fails on the
//! condition `Progressing` (False, with PGO's reason and message); a check that passes turns a
//! `Progressing` that had failed on it back to True `PGUpgradeProgressing` ("Upgrade
//! progressing for cluster `<name>`"):
//!
//! 1. `Succeeded` already has reason `PGUpgradeSucceeded`: nothing more.
//! 2. `fromPostgresVersion >= toPostgresVersion`: `PGUpgradeInvalid` (the v1beta1 CRD's CEL
//!    rule already rejects this at admission).
//! 3. The cluster does not exist: `PGClusterNotFound`.
//! 4. `spec.postgresVersion` already is the target and the upgrade Job has not completed:
//!    `PGUpgradeResolved`.
//! 5. `status.postgresVersion` is the target: `PGUpgradeCompleted`, and once the Job completed
//!    `Succeeded` True `PGUpgradeSucceeded` ("PostgresCluster `<name>` is ready to complete
//!    upgrade to version `<to>`").
//! 6. Not shut down (`spec.shutdown` true, `status.observedGeneration` current and every
//!    `status.instances[].replicas` zero): `PGClusterNotShutdown`.
//! 7. No `status.startupInstance` naming an instance: `PGClusterPrimaryNotIdentified`.
//! 8. `spec.postgresVersion` is not `fromPostgresVersion`: `PGUpgradeInvalidForCluster`.
//! 9. The cluster lacks the annotation `postgres-operator.crunchydata.com/allow-upgrade` with
//!    the PGUpgrade's name as value: `PGClusterMissingRequiredAnnotation`.
//! 10. The upgrade Job failed (backoff limit 0: one failed Pod, e.g. `pg_upgrade --check`
//!     refused): `Succeeded` False `PGUpgradeFailed` "Upgrade jobs failed, please check
//!     individual pod logs"; the data stays on the old version.
//! 11. The Job completed: the cluster's `status.postgresVersion` becomes the target (the
//!     PGUpgrade controller patches it while `spec.postgresVersion` is still the old one) and
//!     its `pgbackrest.repos` are reset, so the next start runs `stanza-upgrade` and a new
//!     full backup; the data directory has a new system identifier.
//! 12. Otherwise the upgrade Job (one `job_duration`, standing in for the upgrade Job and the
//!     replicas' remove-data Jobs) runs.
//!
//! The user then sets `spec.postgresVersion` to the target and `shutdown: false`; instances
//! whose image's major (its tag's, else `spec.postgresVersion`) differs from the data's version
//! never become ready, so a `spec.image` of another major does not roll (`rolling.rs`).

use serde_json::{Value, json};
use tokio::time::Instant;

use super::jobs::Job;
use super::scenario::Scenario;
use super::sim::ClusterSim;

/// The annotation naming the PGUpgrade a cluster allows.
pub const ALLOW_UPGRADE_ANNOTATION: &str = "postgres-operator.crunchydata.com/allow-upgrade";

/// One PGUpgrade's upgrade Job.
#[derive(Clone, Debug, Default)]
pub(crate) struct Upgrade {
    job: Option<Job>,
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn conditions_of(upgrade: &Value) -> Vec<Value> {
    upgrade
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `meta.SetStatusCondition`: keeps `lastTransitionTime` unless the status changes.
fn set(
    conditions: &mut Vec<Value>,
    generation: i64,
    now: &str,
    ty: &str,
    ok: bool,
    reason: &str,
    message: &str,
) {
    let status = if ok { "True" } else { "False" };
    let since = conditions
        .iter()
        .find(|c| c["type"] == ty && c["status"] == status)
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let new = json!({
        "type": ty, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": since, "observedGeneration": generation,
    });
    match conditions.iter_mut().find(|c| c["type"] == ty) {
        Some(c) => *c = new,
        None => conditions.push(new),
    }
}

fn reason_of<'a>(conditions: &'a [Value], ty: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c["type"] == ty)
        .and_then(|c| c["reason"].as_str())
}

/// Whether PGO considers the cluster shut down.
fn shut_down(cluster: &Value) -> bool {
    let shutdown = cluster
        .pointer("/spec/shutdown")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let observed =
        int(cluster, "/status/observedGeneration") == int(cluster, "/metadata/generation");
    let no_pods = cluster
        .pointer("/status/instances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|s| s.get("replicas").and_then(Value::as_i64).unwrap_or(0) == 0);
    shutdown && observed && no_pods
}

/// Reconciles one PGUpgrade; returns its new `status.conditions` (to write when changed).
/// `cluster` is the PostgresCluster it names (with its simulated life) if it exists.
pub(crate) fn reconcile(
    upgrade: &Value,
    state: &mut Upgrade,
    cluster: Option<(&Value, &mut ClusterSim)>,
    scenario: &Scenario,
    now: Instant,
    wall: &str,
) -> Vec<Value> {
    let mut conditions = conditions_of(upgrade);
    if reason_of(&conditions, "Succeeded") == Some("PGUpgradeSucceeded") {
        return conditions;
    }
    let generation = int(upgrade, "/metadata/generation").unwrap_or(1);
    let name = upgrade
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let cluster_name = upgrade
        .pointer("/spec/postgresClusterName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let from = int(upgrade, "/spec/fromPostgresVersion").unwrap_or(0);
    let to = int(upgrade, "/spec/toPostgresVersion").unwrap_or(0);
    let progressing = |conditions: &mut Vec<Value>, was: &str| {
        let reason = reason_of(conditions, "Progressing").map(String::from);
        if reason.is_none() || reason.as_deref() == Some(was) {
            set(
                conditions,
                generation,
                wall,
                "Progressing",
                true,
                "PGUpgradeProgressing",
                &format!("Upgrade progressing for cluster {cluster_name}"),
            );
        }
    };
    let stop = |conditions: &mut Vec<Value>, reason: &str, message: String| {
        set(
            conditions,
            generation,
            wall,
            "Progressing",
            false,
            reason,
            &message,
        );
    };

    progressing(&mut conditions, "");
    if from >= to {
        stop(
            &mut conditions,
            "PGUpgradeInvalid",
            format!("Cannot upgrade from postgres version {from} to {to}"),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGUpgradeInvalid");
    let Some((cluster, sim)) = cluster else {
        stop(
            &mut conditions,
            "PGClusterNotFound",
            format!(
                "postgresclusters.postgres-operator.crunchydata.com \"{cluster_name}\" not found"
            ),
        );
        return conditions;
    };
    progressing(&mut conditions, "PGClusterNotFound");

    let step = scenario.job_duration;
    if let Some(job) = state.job.as_mut() {
        job.advance(now, step, wall);
    }
    let job_complete = state.job.as_ref().is_some_and(Job::succeeded);
    let job_failed = state.job.as_ref().is_some_and(Job::failed);
    let version = int(cluster, "/spec/postgresVersion").unwrap_or(0);
    let status_version = sim.status_version;

    if version == to && !job_complete {
        stop(
            &mut conditions,
            "PGUpgradeResolved",
            format!("PostgresCluster {cluster_name} is already running version {to}"),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGUpgradeResolved");
    if status_version == Some(to) {
        stop(
            &mut conditions,
            "PGUpgradeCompleted",
            format!("PostgresCluster {cluster_name} is running version {to}"),
        );
        if job_complete {
            set(
                &mut conditions,
                generation,
                wall,
                "Succeeded",
                true,
                "PGUpgradeSucceeded",
                &format!(
                    "PostgresCluster {cluster_name} is ready to complete upgrade to version {to}"
                ),
            );
        }
        return conditions;
    }
    if !shut_down(cluster) {
        stop(
            &mut conditions,
            "PGClusterNotShutdown",
            "PostgresCluster instances still running".into(),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGClusterNotShutdown");
    let primary = cluster
        .pointer("/status/startupInstance")
        .and_then(Value::as_str)
        .filter(|p| sim.instances.contains(p));
    if primary.is_none() {
        stop(
            &mut conditions,
            "PGClusterPrimaryNotIdentified",
            "PostgresCluster primary instance not identified".into(),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGClusterPrimaryNotIdentified");
    if version != from && status_version != Some(to) {
        stop(
            &mut conditions,
            "PGUpgradeInvalidForCluster",
            format!("Current postgres version is {version}, but upgrade expected {from}"),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGUpgradeInvalidForCluster");
    let allowed = cluster
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ALLOW_UPGRADE_ANNOTATION))
        .and_then(Value::as_str)
        == Some(name);
    if !allowed {
        stop(
            &mut conditions,
            "PGClusterMissingRequiredAnnotation",
            format!("PostgresCluster {cluster_name} lacks annotation for upgrade {name}"),
        );
        return conditions;
    }
    progressing(&mut conditions, "PGClusterMissingRequiredAnnotation");
    if job_failed {
        set(
            &mut conditions,
            generation,
            wall,
            "Succeeded",
            false,
            "PGUpgradeFailed",
            "Upgrade jobs failed, please check individual pod logs",
        );
        return conditions;
    }
    if job_complete {
        sim.status_version = Some(to);
        sim.data_version = Some(to);
        sim.upgraded = true;
        sim.stanza_created = false;
        return conditions;
    }
    if state.job.is_none() {
        state.job = Some(Job::start(now, wall, scenario.upgrades_fail, 0));
    }
    conditions
}
