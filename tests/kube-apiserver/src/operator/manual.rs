//! Manual backups, as PGO's `reconcileManualBackup`: the annotation
//! `postgres-operator.crunchydata.com/pgbackrest-backup` plus `spec.backups.pgbackrest.manual`
//! (`repoName`, `options`) run one backup Job per new annotation value.
//!
//! - A finished Job whose id differs from a new, non-empty annotation is deleted first.
//! - Nothing starts without a writable primary, the annotation or `manual`.
//! - A new value resets `status.pgbackrest.manualBackup` to `{id, finished: false}` and drops
//!   the `PGBackRestManualBackupSuccessful` condition; a finished status is left alone.
//! - The Job waits for the replica-create backup (`PGBackRestReplicaCreate` True). A repo
//!   without status records the Warning Event `InvalidBackupRepo`, one whose stanza is not
//!   created `StanzaNotCreated`, and `--repo` in `options` `InvalidManualBackup`; the backup
//!   then does not start (PGO retries when the spec changes).
//! - The Job's progress is copied into `manualBackup` (`active`, `succeeded`, `failed`,
//!   `startTime`, `completionTime`, `finished`) and the condition becomes True
//!   `ManualBackupComplete` or False `ManualBackupFailed`. A completed backup enters the
//!   repository with the `--type` of `options` (pgBackRest's default `incr`; `full` when no
//!   full backup exists yet).

use serde_json::{Value, json};

use super::jobs::{DEFAULT_BACKOFF_LIMIT, Job, Transition, pending_status};
use super::repository::{BackupKind, Repository, repo_key};
use super::sim::{ClusterSim, Tick};
use super::status::BACKUP_ANNOTATION;

#[derive(Clone, Debug)]
struct BackupJob {
    id: String,
    repo: u32,
    kind: BackupKind,
    job: Job,
}

/// The manual backup state of one cluster.
#[derive(Clone, Debug, Default)]
pub(crate) struct Manual {
    /// `status.pgbackrest.manualBackup.id`.
    status_id: Option<String>,
    job: Option<BackupJob>,
}

impl Manual {
    /// Forgets the status (a restore resets `status.pgbackrest`); the Job stays.
    pub fn clear_status(&mut self) {
        self.status_id = None;
    }

    fn job_for(&self, id: &str) -> Option<&Job> {
        self.job.as_ref().filter(|j| j.id == id).map(|j| &j.job)
    }

    /// `status.pgbackrest.manualBackup`.
    pub fn status(&self) -> Option<Value> {
        let id = self.status_id.as_deref()?;
        Some(match self.job_for(id) {
            Some(job) => job.status(id),
            None => pending_status(id),
        })
    }

    /// The `PGBackRestManualBackupSuccessful` condition: (ok, reason, message).
    pub fn condition(&self) -> Option<(bool, &'static str, &'static str)> {
        let job = self.job_for(self.status_id.as_deref()?)?;
        if job.succeeded() {
            Some((
                true,
                "ManualBackupComplete",
                "Manual backup completed successfully",
            ))
        } else if job.failed() {
            Some((
                false,
                "ManualBackupFailed",
                "Manual backup did not complete successfully",
            ))
        } else {
            None
        }
    }

    fn finished(&self) -> bool {
        self.status_id
            .as_deref()
            .and_then(|id| self.job_for(id))
            .is_some_and(Job::finished)
    }
}

pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository) {
    let step = t.scenario.job_duration;
    let wall = t.wall_str();
    if let Some(j) = sim.manual.job.as_mut() {
        match j.job.advance(t.now, step, &wall) {
            Transition::Succeeded => {
                repo.backup(j.repo, j.kind, t.unix(), sim.timeline);
                repo.set_running(false);
            }
            Transition::Failed => repo.set_running(false),
            Transition::None => {}
        }
    }

    let annotation = t.annotation(BACKUP_ANNOTATION).to_string();
    let manual = t.c.spec.pointer("/backups/pgbackrest/manual");
    if let Some(j) = &sim.manual.job
        && j.job.finished()
        && !annotation.is_empty()
        && j.id != annotation
    {
        sim.manual.job = None;
    }
    let Some(manual) = manual.filter(|_| sim.running && !annotation.is_empty()) else {
        return;
    };
    if sim.manual.status_id.as_deref() != Some(annotation.as_str()) {
        sim.manual.status_id = Some(annotation.clone());
    }
    if sim.manual.finished() || !sim.first_backup_done {
        return;
    }
    let repo_name = manual
        .get("repoName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !t.repo_names().contains(&repo_name) {
        sim.event(
            true,
            "InvalidBackupRepo",
            format!(
                "Unable to find status for {} as configured for a manual backup.  Please ensure this repo is defined in the spec.",
                json!(repo_name)
            ),
        );
        return;
    }
    if !sim.stanza_created {
        sim.event(
            true,
            "StanzaNotCreated",
            format!(
                "Stanza not created for {} as specified for a manual backup",
                json!(repo_name)
            ),
        );
        return;
    }
    let options: Vec<String> = manual
        .get("options")
        .and_then(Value::as_array)
        .map(|o| {
            o.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if options
        .iter()
        .any(|o| o.contains("--repo=") || o.contains("--repo "))
    {
        sim.event(
            true,
            "InvalidManualBackup",
            "Option '--repo' is not allowed: please use the 'repoName' field instead.".into(),
        );
        return;
    }
    if sim.manual.job.is_none() {
        sim.manual.job = Some(BackupJob {
            id: annotation,
            repo: repo_key(&repo_name),
            kind: BackupKind::from_options(&options),
            job: Job::start(
                t.now,
                &wall,
                t.scenario.manual_backups_fail,
                DEFAULT_BACKOFF_LIMIT,
            ),
        });
        repo.set_running(true);
    }
}
