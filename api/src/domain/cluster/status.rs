//! A platform's report on a cluster mapped to pgplane's phase, as a pure function.
//!
//! [`observe`] reads a [`Report`]: the Kubernetes driver's comes from PGO's
//! `PostgresCluster.status` (`observedGeneration`, `conditions`, `instances[]`, `patroni`,
//! `pgbackrest` and `proxy.pgBouncer`: [`Report::from_pgo`]), the local platform builds its own.
//! The first matching rule below applies; the table names PGO's fields. "Bootstrapped"
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

mod report;

use serde::Serialize;
use utoipa::ToSchema;

pub use report::{
    InitialBackup, InstanceCounts, PoolerState, Report, RepositoryState, ScheduledBackup,
};

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
    pub const ALL: [Phase; 8] = [
        Phase::Pending,
        Phase::Provisioning,
        Phase::Ready,
        Phase::Updating,
        Phase::Degraded,
        Phase::Suspended,
        Phase::Deleting,
        Phase::Failed,
    ];

    /// The phase as stored (`clusters.phase`) and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Provisioning => "provisioning",
            Phase::Ready => "ready",
            Phase::Updating => "updating",
            Phase::Degraded => "degraded",
            Phase::Suspended => "suspended",
            Phase::Deleting => "deleting",
            Phase::Failed => "failed",
        }
    }

    /// The phase as stored (`clusters.phase`).
    pub fn parse(stored: &str) -> Option<Phase> {
        Phase::ALL
            .into_iter()
            .find(|phase| phase.as_str() == stored)
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

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rows hold the phase as text (a check constraint admits only these).
impl TryFrom<String> for Phase {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Phase::parse(&stored).ok_or_else(|| format!("unknown cluster phase `{stored}`"))
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
    /// Where the metrics exporter serves, when pgplane can reach it.
    pub metrics_url: Option<String>,
}

/// Maps a platform's report on the object at `generation` to a phase, following the module
/// table.
pub fn observe(report: &Report, generation: i64, spec: &ClusterSpec, deleting: bool) -> Observed {
    let desired = if spec.suspended { 0 } else { spec.instances };
    let pooler_ready = spec.pooler.enabled.then(|| {
        report.pooler.ready_replicas >= i64::from(spec.pooler.replicas)
            && !report.pooler.unavailable
    });
    let (phase, message) = phase(report, generation, spec, desired, pooler_ready);
    Observed {
        phase: if deleting { Phase::Deleting } else { phase },
        ready_instances: u32::try_from(report.instances.ready).unwrap_or(0),
        desired_instances: desired,
        primary_instance: report.primary_instance.clone(),
        observed_generation: report.observed_generation,
        message: if deleting { None } else { message },
        pooler_ready,
        metrics_url: report.metrics_url.clone(),
    }
}

fn phase(
    report: &Report,
    generation: i64,
    spec: &ClusterSpec,
    desired: u32,
    pooler_ready: Option<bool>,
) -> (Phase, Option<String>) {
    use Phase::*;
    let say = |phase: Phase, message: &str| (phase, Some(message.to_string()));
    let Some(observed) = report.observed_generation else {
        return say(Pending, "waiting for the operator to pick up the cluster");
    };
    if let Some(message) = &report.stopped_reconciling {
        return (
            Failed,
            Some(format!("the operator paused reconciling: {message}")),
        );
    }
    let InstanceCounts {
        existing: pods,
        ready,
        updated,
    } = report.instances;
    let desired = i64::from(desired);
    if spec.suspended {
        return if observed >= generation && pods == 0 {
            (Suspended, None)
        } else {
            say(Updating, "shutting down")
        };
    }
    let bootstrapped = ready > 0 || report.system_identifier.is_some();
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
    let RepositoryState {
        stanza_created: stanza,
        initial_backup_complete: initial_backup,
    } = report.repository;
    if spec.takes_backups() && !initial_backup && (!stanza || ready < desired) {
        return say(Provisioning, "waiting for the first backup");
    }
    if report.resizing_volumes {
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
    if report.repository_host_ready == Some(false) {
        return say(Degraded, "the backup repository host is not ready");
    }
    if pooler_ready == Some(false) {
        return say(Degraded, "the connection pooler is not ready");
    }
    if let Some(failed) = report.failed_latest_backup() {
        return (
            Degraded,
            Some(format!(
                "the last scheduled {} backup failed",
                failed.kind_in_words()
            )),
        );
    }
    (Ready, None)
}

#[cfg(test)]
mod tests;
