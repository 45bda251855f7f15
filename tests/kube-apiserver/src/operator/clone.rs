//! Bootstrapping a new cluster from another cluster's pgBackRest repository, as PGO's
//! `reconcileDataSource`, `prepareForRestore`, `reconcilePostgresClusterDataSource`,
//! `reconcileRestoreJob` and `observeRestoreEnv` do for `spec.dataSource.postgresCluster`
//! (`clusterName`, optional `clusterNamespace`, `repoName`, `options`). While the data is not
//! initialized PGO returns early from every reconcile: no instance StatefulSets or Pods, no
//! `status.observedGeneration`, no stanza or backups of its own.
//!
//! 1. The first reconcile prepares the "restore" `~pgo-bootstrap-<cluster>`:
//!    `status.pgbackrest.restore` `{id, finished: false}`, `startupInstance(Set)` the first
//!    instance, `PGBackRestoreProgressing` True `ReadyForRestore` "Restoring cluster in-place".
//! 2. Each following reconcile looks the source up: a missing source cluster records the
//!    Warning Event `InvalidDataSource` `PostgresCluster "<name>" does not exist`, a `repoName`
//!    the source does not define `PostgresCluster "<name>" does not have a repo named
//!    "<repo>" defined`, options PGO rejects (`--repo`, `--stanza`, `--pg1-path`,
//!    `--target-action`, `--link-map`) their message; PGO retries but nothing else happens.
//! 3. Otherwise the restore Job runs against the source's repository *as it is when each Pod
//!    attempt ends* (one [`Scenario::job_duration`] each): PGO does not wait for a backup, the
//!    Job fails its attempts while the repository holds none (or `--type=time` names a
//!    `--target` before the end of the oldest backup or in the future) and succeeds on the
//!    first attempt that can restore. After 7 failed Pods (backoff limit 6) it is failed:
//!    `PostgresDataInitialized` False `PGBackRestRestoreFailed`, and the cluster never
//!    initializes (a changed `dataSource` starts over).
//! 4. Success: `PostgresDataInitialized` True `PGBackRestRestoreComplete`,
//!    `PGBackRestoreProgressing` removed, `restore` finished with `succeeded: 1`. The data is
//!    the source's (same system identifier, the source's databases and extensions) promoted
//!    onto the next timeline; then the cluster starts, reports `observedGeneration`, creates
//!    its own stanza in its own (empty) repository and takes its own replica-create backup.
//!
//! [`Scenario::job_duration`]: super::Scenario::job_duration

use serde_json::{Value, json};

use super::jobs::{DEFAULT_BACKOFF_LIMIT, Job, Transition, pending_status};
use super::repository::{Repository, repo_key};
use super::restore::{reachable, rejected_option, strings};
use super::sim::{ClusterSim, Tick};

/// `spec.dataSource.postgresCluster` as PGO reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub namespace: String,
    pub cluster: String,
    pub repo_name: String,
    pub options: Vec<String>,
}

/// `spec.dataSource.postgresCluster` of `t`'s cluster, if any.
pub(crate) fn spec(c: &super::children::Cluster<'_>) -> Option<Spec> {
    let ds = c.spec.pointer("/dataSource/postgresCluster")?;
    let text = |key: &str| {
        ds.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let namespace = Some(text("clusterNamespace"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| c.namespace.to_string());
    let cluster = Some(text("clusterName"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| c.name.to_string());
    Some(Spec {
        namespace,
        cluster,
        repo_name: text("repoName"),
        options: strings(ds.get("options")),
    })
}

/// What PGO finds of the source cluster (set before each tick; `None` when it does not exist).
#[derive(Clone, Debug)]
pub(crate) struct Source {
    /// `spec.backups.pgbackrest.repos[].name` of the source.
    pub repo_names: Vec<String>,
    /// The source's repositories, as pgBackRest reads them now.
    pub repository: Repository,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Looking for the source (and waiting for a valid one).
    Preparing,
    Restoring(Job),
    Done(Job),
    Failed(Job),
}

/// One bootstrap from a data source.
#[derive(Clone, Debug)]
pub(crate) struct DataSource {
    pub id: String,
    spec: Spec,
    phase: Phase,
    /// The source's data arrived on this tick (what exec sees follows).
    restored_now: bool,
    /// Set before each tick by the controller.
    pub source: Option<Source>,
}

impl DataSource {
    /// Whether the data directory is initialized (the cluster may start).
    pub fn initialized(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// Whether the data arrived on the last tick.
    pub fn restored_now(&self) -> bool {
        self.restored_now
    }

    /// The source cluster (namespace, name).
    pub fn source_key(&self) -> (String, String) {
        (self.spec.namespace.clone(), self.spec.cluster.clone())
    }

    /// `status.pgbackrest.restore`.
    pub fn status(&self) -> Value {
        match &self.phase {
            Phase::Preparing => pending_status(&self.id),
            Phase::Restoring(job) | Phase::Done(job) | Phase::Failed(job) => job.status(&self.id),
        }
    }

    /// The conditions PGO sets: (type, ok, reason, message).
    pub fn conditions(&self) -> Vec<(&'static str, bool, &'static str, &'static str)> {
        const PROGRESSING: (&str, bool, &str, &str) = (
            "PGBackRestoreProgressing",
            true,
            "ReadyForRestore",
            "Restoring cluster in-place",
        );
        match &self.phase {
            Phase::Preparing | Phase::Restoring(_) => vec![PROGRESSING],
            Phase::Failed(_) => vec![
                PROGRESSING,
                (
                    "PostgresDataInitialized",
                    false,
                    "PGBackRestRestoreFailed",
                    "pgBackRest restore failed",
                ),
            ],
            Phase::Done(_) => vec![(
                "PostgresDataInitialized",
                true,
                "PGBackRestRestoreComplete",
                "pgBackRest restore completed successfully",
            )],
        }
    }
}

/// Advances the bootstrap of `sim` from its data source (nothing without one, or once the
/// cluster bootstrapped otherwise).
pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>) {
    let Some(want) = spec(t.c) else {
        return;
    };
    if let Some(ds) = sim.clone.as_mut() {
        ds.restored_now = false;
    }
    if sim.bootstrapped && sim.clone.is_none() {
        return;
    }
    let restart = match &sim.clone {
        None => true,
        Some(ds) => !ds.initialized() && ds.spec != want,
    };
    if restart {
        let source = sim.clone.take().and_then(|d| d.source);
        sim.clone = Some(DataSource {
            id: format!("~pgo-bootstrap-{}", t.c.name),
            spec: want,
            phase: Phase::Preparing,
            restored_now: false,
            source,
        });
        // PGO names the instance to restore into and starts nothing else.
        if let Some((set, first)) = sim.instances.all().into_iter().next() {
            sim.startup_instance = Some((set, first));
        }
        return;
    }
    let Some(ds) = sim.clone.as_mut() else {
        return;
    };
    let step = t.scenario.job_duration;
    let wall = t.wall_str();
    let mut event = None;
    let mut restored = None;
    match &mut ds.phase {
        Phase::Preparing => match &ds.source {
            None => {
                event = Some(format!(
                    "PostgresCluster {} does not exist",
                    json!(ds.spec.cluster)
                ));
            }
            Some(source) if !source.repo_names.contains(&ds.spec.repo_name) => {
                event = Some(format!(
                    "PostgresCluster {} does not have a repo named {} defined",
                    json!(ds.spec.cluster),
                    json!(ds.spec.repo_name)
                ));
            }
            Some(_) => match rejected_option(&ds.spec.options) {
                Some(message) => event = Some(message.to_string()),
                None => {
                    ds.phase =
                        Phase::Restoring(Job::start(t.now, &wall, false, DEFAULT_BACKOFF_LIMIT));
                }
            },
        },
        Phase::Restoring(job) => {
            let key = repo_key(&ds.spec.repo_name);
            let can = ds.source.as_ref().is_some_and(|s| {
                !t.scenario.restores_fail && reachable(&ds.spec.options, &s.repository, key, t.wall)
            });
            match job.advance_retrying(t.now, step, &wall, can) {
                Transition::Succeeded => {
                    restored = ds.source.as_ref().map(|s| s.repository.clone());
                    ds.phase = Phase::Done(job.clone());
                    ds.restored_now = true;
                }
                Transition::Failed => ds.phase = Phase::Failed(job.clone()),
                Transition::None => {}
            }
        }
        Phase::Done(_) | Phase::Failed(_) => {}
    }
    if let Some(message) = event {
        sim.event(true, "InvalidDataSource", message);
    }
    if let Some(repository) = restored {
        let (version, system) = repository.current_system().unwrap_or((0, 0));
        sim.bootstrapped = true;
        sim.upgraded = false;
        sim.data_version = Some(version).filter(|v| *v > 0).or(t.image_version());
        sim.system_identifier = Some(system.to_string());
        sim.timeline = repository.newest_timeline().unwrap_or(1) + 1;
        sim.stanza_created = false;
        sim.first_backup_done = false;
        sim.started_at = Some(t.now);
    }
}

/// The status PGO writes while the data is not initialized (it returns before everything
/// else, `observedGeneration` included).
pub(crate) fn early_status(sim: &ClusterSim, ds: &DataSource, instances: Vec<Value>) -> Value {
    let mut status = json!({
        "instances": instances,
        "pgbackrest": { "restore": ds.status() },
        "patroni": {},
    });
    if let Some((set, instance)) = &sim.startup_instance {
        status["startupInstance"] = json!(instance);
        status["startupInstanceSet"] = json!(set);
    }
    status
}
