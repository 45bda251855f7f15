//! PGO's `PostgresCluster.status` mapped to pgplane's phase, as a pure function.
//!
//! [`observe`] reads `observedGeneration`, `conditions`, `instances[]`, `patroni`,
//! `pgbackrest` and `proxy.pgBouncer` and applies the first matching rule below. "Bootstrapped"
//! means Patroni reported a system identifier or some instance was ready; "initial backup
//! pending" means backups are on and `repo1` has no `replicaCreateBackupComplete` yet.
//!
//! | # | when | phase | message |
//! |---|---|---|---|
//! | 1 | the object is being deleted | `deleting` | |
//! | 2 | no status, or no `observedGeneration` yet | `pending` | waiting for the operator |
//! | 3 | condition `Progressing` is `False` (PGO paused reconciling) | `failed` | its message |
//! | 4 | spec suspended, generation observed and no instance pod left | `suspended` | |
//! | 5 | spec suspended otherwise | `updating` | shutting down |
//! | 6 | `observedGeneration` < generation | `updating` if bootstrapped, else `provisioning` | |
//! | 7 | not bootstrapped | `provisioning` | |
//! | 8 | initial backup pending and (stanza not created or instances not all ready) | `provisioning` | |
//! | 9 | condition `PersistentVolumeResizing` is `True` | `updating` | resizing volumes |
//! | 10 | pods ≠ desired, or updated pods < desired | `updating` | rolling out |
//! | 11 | ready instances < desired | `degraded` | k of n ready |
//! | 12 | backups on and `repo1` stanza not created | `degraded` | repository not ready |
//! | 13 | `pgbackrest.repoHost.ready` is `false` | `degraded` | repository host not ready |
//! | 14 | pooler on and (ready < replicas or `ProxyAvailable` is `False`) | `degraded` | |
//! | 15 | the most recent scheduled backup Job failed | `degraded` | which one |
//! | 16 | otherwise | `ready` | |
//!
//! A pure function cannot tell a pod that is starting from one that is crash-looping; both
//! show as `degraded` (rule 11) and the watcher may escalate a long-lasting one. For the same
//! reason an HA cluster without backups (replicas cloned with `pg_basebackup`, no first-backup
//! marker) shows `degraded` while its replicas are first being built. PGO's status
//! names no primary: `primary_instance` is `status.startupInstance`, which PGO sets to the
//! primary while the cluster is shut down; the watcher fills it from the pod labelled
//! `postgres-operator.crunchydata.com/role=master` otherwise.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::naming::BACKUP_REPO_NAME;
use super::spec::ClusterSpec;

/// Where a cluster is in its life, as shown to tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Accepted; the operator has not reported on it yet.
    Pending,
    /// Being created: bootstrapping, first backup, replicas being built.
    Provisioning,
    /// Every instance, the pooler and the backup repository are healthy.
    Ready,
    /// A change (or a shutdown) is being rolled out.
    Updating,
    /// Serving, but something is missing: an instance, the pooler, the backup repository.
    Degraded,
    /// Shut down on request; volumes and backups are kept.
    Suspended,
    /// Being deleted.
    Deleting,
    /// The operator stopped reconciling it; needs attention.
    Failed,
}

impl Phase {
    /// The phase as stored (`clusters.phase`).
    pub fn parse(stored: &str) -> Option<Phase> {
        Some(match stored {
            "pending" => Phase::Pending,
            "provisioning" => Phase::Provisioning,
            "ready" => Phase::Ready,
            "updating" => Phase::Updating,
            "degraded" => Phase::Degraded,
            "suspended" => Phase::Suspended,
            "deleting" => Phase::Deleting,
            "failed" => Phase::Failed,
            _ => return None,
        })
    }

    /// Whether a cluster in this phase has reached what `spec` asks for: ready when it should
    /// run, suspended when it should not. A create or update can end only then.
    pub fn settles(self, spec: &ClusterSpec) -> bool {
        match self {
            Phase::Ready => !spec.suspended,
            Phase::Suspended => spec.suspended,
            _ => false,
        }
    }
}

/// What pgplane records from one observation of a `PostgresCluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Observed {
    /// The phase from the module's rule table.
    pub phase: Phase,
    /// Ready PostgreSQL pods.
    pub ready_instances: u32,
    /// PostgreSQL pods wanted: `instances`, or 0 while suspended.
    pub desired_instances: u32,
    /// The primary's instance name when the status tells it (see the module notes).
    pub primary_instance: Option<String>,
    /// `status.observedGeneration`: the generation PGO last reconciled.
    pub observed_generation: Option<i64>,
    /// Why the phase is not `ready`, for humans.
    pub message: Option<String>,
    /// Whether every PgBouncer pod is ready; `None` when the pooler is disabled.
    pub pooler_ready: Option<bool>,
}

/// Maps PGO's `status` of the object at `generation` to a phase, following the module table.
pub fn observe(
    status: Option<&Value>,
    generation: i64,
    spec: &ClusterSpec,
    deleting: bool,
) -> Observed {
    let view = View::new(status);
    let desired = if spec.suspended { 0 } else { spec.instances };
    let pooler_ready = spec.pooler.enabled.then(|| {
        view.int(&["proxy", "pgBouncer", "readyReplicas"]) >= i64::from(spec.pooler.replicas)
            && view.condition("ProxyAvailable").map(|c| c.0) != Some("False")
    });
    let (phase, message) = phase(&view, generation, spec, desired, pooler_ready);
    Observed {
        phase: if deleting { Phase::Deleting } else { phase },
        ready_instances: u32::try_from(view.sum("readyReplicas")).unwrap_or(0),
        desired_instances: desired,
        primary_instance: view
            .text(&["startupInstance"])
            .filter(|s| !s.is_empty())
            .map(String::from),
        observed_generation: view.observed_generation(),
        message: if deleting { None } else { message },
        pooler_ready,
    }
}

fn phase(
    view: &View<'_>,
    generation: i64,
    spec: &ClusterSpec,
    desired: u32,
    pooler_ready: Option<bool>,
) -> (Phase, Option<String>) {
    use Phase::*;
    let say = |phase: Phase, message: &str| (phase, Some(message.to_string()));
    let Some(observed) = view.observed_generation() else {
        return say(Pending, "waiting for the operator to pick up the cluster");
    };
    if let Some(("False", message)) = view.condition("Progressing") {
        return (
            Failed,
            Some(format!("the operator paused reconciling: {message}")),
        );
    }
    let (pods, ready, updated) = (
        view.sum("replicas"),
        view.sum("readyReplicas"),
        view.sum("updatedReplicas"),
    );
    let desired = i64::from(desired);
    if spec.suspended {
        return if observed >= generation && pods == 0 {
            (Suspended, None)
        } else {
            say(Updating, "shutting down")
        };
    }
    let bootstrapped = ready > 0 || view.text(&["patroni", "systemIdentifier"]).is_some();
    if observed < generation {
        let message = format!("the operator has not yet applied generation {generation}");
        return (
            if bootstrapped { Updating } else { Provisioning },
            Some(message),
        );
    }
    if !bootstrapped {
        return say(Provisioning, "bootstrapping the first instance");
    }
    let repo = view.repo(BACKUP_REPO_NAME);
    let flag = |key: &str| {
        repo.and_then(|r| r.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let (stanza, initial_backup) = (flag("stanzaCreated"), flag("replicaCreateBackupComplete"));
    if spec.takes_backups() && !initial_backup && (!stanza || ready < desired) {
        return say(Provisioning, "waiting for the first backup");
    }
    if view.condition("PersistentVolumeResizing").map(|c| c.0) == Some("True") {
        return say(Updating, "resizing volumes");
    }
    if pods != desired || updated < desired {
        return (
            Updating,
            Some(format!(
                "rolling out: {updated} of {desired} instances updated"
            )),
        );
    }
    if ready < desired {
        return (
            Degraded,
            Some(format!("{ready} of {desired} instances ready")),
        );
    }
    if spec.takes_backups() && !stanza {
        return say(Degraded, "the backup repository is not ready");
    }
    if view
        .value(&["pgbackrest", "repoHost", "ready"])
        .and_then(Value::as_bool)
        == Some(false)
    {
        return say(Degraded, "the backup repository host is not ready");
    }
    if pooler_ready == Some(false) {
        return say(Degraded, "the connection pooler is not ready");
    }
    if let Some(kind) = view.failed_latest_backup() {
        return (
            Degraded,
            Some(format!("the last scheduled {kind} backup failed")),
        );
    }
    (Ready, None)
}

/// Read-only accessors over an optional status object.
struct View<'a> {
    status: Option<&'a Value>,
}

impl<'a> View<'a> {
    fn new(status: Option<&'a Value>) -> Self {
        Self {
            status: status.filter(|s| s.is_object()),
        }
    }

    fn value(&self, path: &[&str]) -> Option<&'a Value> {
        path.iter()
            .try_fold(self.status?, |value, key| value.get(key))
    }

    fn text(&self, path: &[&str]) -> Option<&'a str> {
        self.value(path).and_then(Value::as_str)
    }

    fn int(&self, path: &[&str]) -> i64 {
        self.value(path).and_then(Value::as_i64).unwrap_or(0)
    }

    fn observed_generation(&self) -> Option<i64> {
        self.value(&["observedGeneration"])
            .and_then(Value::as_i64)
            .filter(|g| *g > 0)
    }

    /// Sum of `key` over `status.instances[]`.
    fn sum(&self, key: &str) -> i64 {
        let sets = self.value(&["instances"]).and_then(Value::as_array);
        sets.into_iter()
            .flatten()
            .filter_map(|set| set.get(key)?.as_i64())
            .sum()
    }

    /// `(status, message)` of the condition of type `kind`.
    fn condition(&self, kind: &str) -> Option<(&'a str, &'a str)> {
        let conditions = self.value(&["conditions"])?.as_array()?;
        let found = conditions
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
        let status = found.get("status").and_then(Value::as_str)?;
        Some((
            status,
            found.get("message").and_then(Value::as_str).unwrap_or(""),
        ))
    }

    fn repo(&self, name: &str) -> Option<&'a Value> {
        let repos = self.value(&["pgbackrest", "repos"])?.as_array()?;
        repos
            .iter()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
    }

    /// The backup type of the most recently started scheduled backup Job, if it failed.
    fn failed_latest_backup(&self) -> Option<&'a str> {
        let jobs = self
            .value(&["pgbackrest", "scheduledBackups"])?
            .as_array()?;
        let started = |job: &&Value| {
            job.get("startTime")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        let latest = jobs
            .iter()
            .filter(|job| started(job).is_some())
            .max_by_key(|job| started(job))?;
        let failed = latest.get("failed").and_then(Value::as_i64).unwrap_or(0) > 0;
        let completed = latest.get("completionTime").is_some_and(|t| !t.is_null());
        let kind = match latest.get("type").and_then(Value::as_str) {
            Some("diff") => "differential",
            Some("incr") => "incremental",
            Some(other) => other,
            None => "pgBackRest",
        };
        (failed && !completed).then_some(kind)
    }
}

#[cfg(test)]
mod tests;
