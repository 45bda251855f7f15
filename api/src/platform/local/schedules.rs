//! The backups the local platform takes by itself, as PGO does: the initial full backup once
//! the repository's stanza exists, then the cluster's cron schedules (full, differential,
//! incremental; UTC). Each runs as its own task, outside the cluster's lock, so a long backup
//! holds up neither the supervisor nor the cluster's operations; one backup per cluster at a
//! time. Retention is pgBackRest's, applied after each backup.

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

use super::Inner;
use super::backups::BackingUp;
use super::state::{SCHEDULED_RUNS_KEPT, ScheduledRun};
use crate::domain::cluster::BackupType;
use crate::domain::cluster::cron::fired_between;

/// The annotation that names the run a backup was taken for.
const RUN_ANNOTATION: &str = "pgplane-run";
/// The run name of the initial backup.
const INITIAL_RUN: &str = "initial";

/// What is due now.
enum Due {
    Initial,
    Scheduled(ScheduledRun, BackupType),
}

/// Starts the cluster's backup that is due, if any.
pub(super) async fn start_due(inner: &Arc<Inner>, id: Uuid) -> anyhow::Result<()> {
    let Some(claim) = BackingUp::claim(inner.clone(), id) else {
        return Ok(()); // one is running
    };
    let due = {
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let Some(mut state) = inner.load(id)? else {
            return Ok(());
        };
        if state.spec.suspended || !state.spec.backups.enabled || !state.repository.stanza_created {
            return Ok(());
        }
        if state.repository.initial_backup_at.is_none() {
            Due::Initial
        } else {
            let now = Utc::now();
            let since = state.repository.schedules_checked_at.unwrap_or(now);
            state.repository.schedules_checked_at = Some(now);
            let schedules = &state.spec.backups.schedules;
            let fired = [
                (BackupType::Full, "full", &schedules.full),
                (BackupType::Differential, "diff", &schedules.differential),
                (BackupType::Incremental, "incr", &schedules.incremental),
            ]
            .into_iter()
            .find_map(|(kind, short, expr)| {
                let at = fired_between(expr.as_deref()?, since, now)?;
                Some((kind, short, at))
            });
            let due = fired.map(|(kind, short, at)| {
                let run = ScheduledRun {
                    name: format!("{}-{short}-{}", state.spec.name, at.format("%Y%m%d%H%M")),
                    kind: short.to_string(),
                    started_at: now,
                    finished_at: None,
                    failed: false,
                };
                state.repository.scheduled_runs.push(run.clone());
                let excess = state
                    .repository
                    .scheduled_runs
                    .len()
                    .saturating_sub(SCHEDULED_RUNS_KEPT);
                state.repository.scheduled_runs.drain(..excess);
                Due::Scheduled(run, kind)
            });
            inner.save(&state)?;
            match due {
                Some(due) => due,
                None => return Ok(()),
            }
        }
    };
    let inner = inner.clone();
    tokio::spawn(async move {
        let _claim = claim;
        let (kind, name) = match &due {
            Due::Initial => (BackupType::Full, INITIAL_RUN.to_string()),
            Due::Scheduled(run, kind) => (*kind, run.name.clone()),
        };
        let outcome = inner.take_backup(id, kind, RUN_ANNOTATION, &name).await;
        if let Err(error) = &outcome {
            tracing::warn!(%id, run = %name, error = %error, "a local backup failed");
        }
        if let Err(error) = record(&inner, id, &due, outcome.ok()).await {
            tracing::warn!(%id, error = format!("{error:#}"), "could not record a local backup");
        }
        inner.kick.notify_one();
    });
    Ok(())
}

/// Records how a run ended in the cluster's state.
async fn record(
    inner: &Inner,
    id: Uuid,
    due: &Due,
    taken: Option<super::pgbackrest::Taken>,
) -> anyhow::Result<()> {
    let lock = inner.lock(id);
    let _guard = lock.lock().await;
    let Some(mut state) = inner.load(id)? else {
        return Ok(());
    };
    match due {
        Due::Initial => {
            if let Some(taken) = taken {
                state.repository.initial_backup_at = Some(taken.finished_at);
            }
        }
        Due::Scheduled(run, _) => {
            if let Some(recorded) = state
                .repository
                .scheduled_runs
                .iter_mut()
                .find(|r| r.name == run.name)
            {
                recorded.failed = taken.is_none();
                recorded.finished_at = Some(taken.map_or_else(Utc::now, |t| t.finished_at));
            }
        }
    }
    inner.save(&state)
}
