//! What a platform reports about one cluster, as typed facts: the input of the phase rules
//! ([`super::observe`]) and of the backups the sync records. The Kubernetes driver reads them
//! from PGO's `PostgresCluster.status` ([`Report::from_pgo`]); the local platform builds them
//! from what its supervisor knows, with no PGO-shaped JSON in between.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::super::naming::BACKUP_REPO_NAME;

/// One observation of a cluster's running state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The generation the operator has fully acted on (PGO `observedGeneration`); `None`
    /// until it has acted on one.
    pub observed_generation: Option<i64>,
    /// The database system's identifier once it was bootstrapped (PGO: Patroni's
    /// `systemIdentifier`).
    pub system_identifier: Option<String>,
    /// PostgreSQL instances that exist, are ready, and run the current template.
    pub instances: InstanceCounts,
    /// The primary's instance name when the report names it (PGO `startupInstance`).
    pub primary_instance: Option<String>,
    /// Why the operator stopped acting on the cluster (PGO condition `Progressing=False`).
    pub stopped_reconciling: Option<String>,
    /// Volumes are being expanded (PGO condition `PersistentVolumeResizing=True`).
    pub resizing_volumes: bool,
    /// The backup repository (`repo1`).
    pub repository: RepositoryState,
    /// Whether the repository host is ready, when there is one (PGO `pgbackrest.repoHost`).
    pub repository_host_ready: Option<bool>,
    /// The connection pooler.
    pub pooler: PoolerState,
    /// The backup the operator takes once the repository exists, when it has finished.
    pub initial_backup: Option<InitialBackup>,
    /// Backups taken on the cluster's schedules.
    pub scheduled_backups: Vec<ScheduledBackup>,
    /// Where the cluster's metrics exporter serves Prometheus metrics, when pgplane can reach
    /// it (the local platform's; PGO's exporter sidecar is scraped inside Kubernetes).
    pub metrics_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InstanceCounts {
    pub existing: i64,
    pub ready: i64,
    pub updated: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RepositoryState {
    /// The repository's stanza exists (WAL can be archived into it).
    pub stanza_created: bool,
    /// The first full backup, which replicas are created from, is complete.
    pub initial_backup_complete: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PoolerState {
    pub ready_replicas: i64,
    /// The platform says the pooler is unavailable (PGO condition `ProxyAvailable=False`).
    pub unavailable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitialBackup {
    /// The repository it was taken into.
    pub repository: String,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One scheduled backup run (PGO: one backup Job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledBackup {
    /// The run's name (PGO: the Job's); runs without one are not recorded.
    pub name: Option<String>,
    /// pgBackRest's backup type as reported (`full`, `diff`, `incr`).
    pub kind: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// The run reported an end (a completion time, even one that cannot be read).
    pub completed: bool,
    pub finished_at: Option<DateTime<Utc>>,
    pub failed: bool,
}

impl ScheduledBackup {
    /// The backup type in words, for messages.
    pub fn kind_in_words(&self) -> &str {
        match self.kind.as_deref() {
            Some("diff") => "differential",
            Some("incr") => "incremental",
            Some(other) => other,
            None => "pgBackRest",
        }
    }
}

impl Report {
    /// The report in PGO's `PostgresCluster.status` (no status, or one that is not an object,
    /// reports nothing yet).
    pub fn from_pgo(status: Option<&Value>) -> Report {
        let Some(status) = status.filter(|s| s.is_object()) else {
            return Report::default();
        };
        let view = View(status);
        let repository = view.repo(BACKUP_REPO_NAME);
        let flag = |key: &str| {
            repository
                .and_then(|r| r.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        Report {
            observed_generation: view
                .value(&["observedGeneration"])
                .and_then(Value::as_i64)
                .filter(|g| *g > 0),
            system_identifier: view
                .text(&["patroni", "systemIdentifier"])
                .map(String::from),
            instances: InstanceCounts {
                existing: view.sum("replicas"),
                ready: view.sum("readyReplicas"),
                updated: view.sum("updatedReplicas"),
            },
            primary_instance: view
                .text(&["startupInstance"])
                .filter(|s| !s.is_empty())
                .map(String::from),
            stopped_reconciling: match view.condition("Progressing") {
                Some(("False", message)) => Some(message.to_string()),
                _ => None,
            },
            resizing_volumes: view.condition("PersistentVolumeResizing").map(|c| c.0)
                == Some("True"),
            repository: RepositoryState {
                stanza_created: flag("stanzaCreated"),
                initial_backup_complete: flag("replicaCreateBackupComplete"),
            },
            repository_host_ready: view
                .value(&["pgbackrest", "repoHost", "ready"])
                .and_then(Value::as_bool),
            pooler: PoolerState {
                ready_replicas: view
                    .value(&["proxy", "pgBouncer", "readyReplicas"])
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                unavailable: view.condition("ProxyAvailable").map(|c| c.0) == Some("False"),
            },
            initial_backup: view.initial_backup(),
            scheduled_backups: view.scheduled_backups(),
            metrics_url: None,
        }
    }

    /// The most recently started scheduled backup, if it failed (and did not complete).
    pub fn failed_latest_backup(&self) -> Option<&ScheduledBackup> {
        let latest = self
            .scheduled_backups
            .iter()
            .filter(|run| run.started_at.is_some())
            .max_by_key(|run| run.started_at)?;
        (latest.failed && !latest.completed).then_some(latest)
    }
}

/// Read-only accessors over a status object.
struct View<'a>(&'a Value);

impl<'a> View<'a> {
    fn value(&self, path: &[&str]) -> Option<&'a Value> {
        path.iter().try_fold(self.0, |value, key| value.get(key))
    }

    fn text(&self, path: &[&str]) -> Option<&'a str> {
        self.value(path).and_then(Value::as_str)
    }

    /// Sum of `key` over `status.instances[]`.
    fn sum(&self, key: &str) -> i64 {
        let sets = self.value(&["instances"]).and_then(Value::as_array);
        sets.into_iter()
            .flatten()
            .filter_map(|set| set.get(key)?.as_i64())
            .sum()
    }

    fn conditions(&self) -> impl Iterator<Item = &'a Value> {
        self.value(&["conditions"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// `(status, message)` of the condition of type `kind`.
    fn condition(&self, kind: &str) -> Option<(&'a str, &'a str)> {
        let found = self
            .conditions()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
        let status = found.get("status").and_then(Value::as_str)?;
        Some((
            status,
            found.get("message").and_then(Value::as_str).unwrap_or(""),
        ))
    }

    fn repos(&self) -> impl Iterator<Item = &'a Value> {
        self.value(&["pgbackrest", "repos"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    fn repo(&self, name: &str) -> Option<&'a Value> {
        self.repos()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
    }

    /// PGO `reconcileReplicaCreateBackup`: a repository with `replicaCreateBackupComplete`,
    /// and the backup Job's success as condition `PGBackRestReplicaCreate=True` (its
    /// transition time is when the backup finished).
    fn initial_backup(&self) -> Option<InitialBackup> {
        let repo = self
            .repos()
            .find(|r| r["replicaCreateBackupComplete"].as_bool() == Some(true))?;
        let condition = self
            .conditions()
            .find(|c| c["type"] == "PGBackRestReplicaCreate" && c["status"] == "True")?;
        Some(InitialBackup {
            repository: repo["name"].as_str().unwrap_or("repo1").to_string(),
            finished_at: condition["lastTransitionTime"]
                .as_str()
                .and_then(|t| t.parse().ok()),
        })
    }

    /// PGO `status.pgbackrest.scheduledBackups`: one entry per backup Job.
    fn scheduled_backups(&self) -> Vec<ScheduledBackup> {
        let jobs = self
            .value(&["pgbackrest", "scheduledBackups"])
            .and_then(Value::as_array);
        let time = |v: &Value| v.as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok());
        jobs.into_iter()
            .flatten()
            .map(|job| ScheduledBackup {
                name: job["name"].as_str().map(String::from),
                kind: job["type"].as_str().map(String::from),
                // PGO writes RFC 3339 times; one that does not parse counts as absent.
                started_at: time(&job["startTime"]),
                completed: job.get("completionTime").is_some_and(|t| !t.is_null()),
                finished_at: time(&job["completionTime"]),
                failed: job["failed"].as_i64().unwrap_or(0) > 0,
            })
            .collect()
    }
}
