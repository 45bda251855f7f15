//! The worker loop: claim while permits last, run each claim on its own task with a lease
//! renewer, record the outcome, and sleep until notified or until the next operation is due.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::execute::{ExecuteError, Outcome, execute};
use super::{JobSettings, backoff, effects};
use crate::domain::cluster::ClusterSpec;
use crate::domain::operation::{OperationKind, OperationState};
use crate::observability::{self, JobOutcome};
use crate::platform::{Platform, PlatformError};
use crate::secrets::Keyring;
use crate::store::{self, operations::Claimed};

/// Longest sleep when nothing is due: a safety net for a missed notification.
const IDLE_SLEEP: Duration = Duration::from_secs(30);

/// Runs workers until `cancel` fires, then lets in-flight operations finish (or hands them
/// back after `lease`) before returning.
pub async fn run(
    db: PgPool,
    platform: Arc<dyn Platform>,
    settings: JobSettings,
    secrets: Arc<Keyring>,
    cancel: CancellationToken,
) {
    let worker_id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut in_flight = JoinSet::new();
    let mut listener = connect_listener(&db).await;
    tracing::info!(worker = %worker_id, platform = platform.name(), "job workers started");
    while !cancel.is_cancelled() {
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            let lease = settings.lease.as_secs() as i64;
            match store::operations::claim(&db, &worker_id, lease).await {
                Ok(Some(claim)) => {
                    let (db, platform, settings) = (db.clone(), platform.clone(), settings.clone());
                    let secrets = secrets.clone();
                    let op = &claim.operation;
                    let span = tracing::info_span!("operation", operation_id = %op.id, kind = %op.kind, attempt = claim.attempt);
                    in_flight.spawn(
                        async move {
                            run_one(&db, platform.as_ref(), &settings, &secrets, claim).await;
                            drop(permit);
                        }
                        .instrument(span),
                    );
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "claiming operations failed; retrying shortly");
                    break;
                }
            }
        }
        while in_flight.try_join_next().is_some() {}
        let sleep = match store::operations::next_due(&db).await {
            Ok(Some(due)) => (due - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(20), IDLE_SLEEP),
            Ok(None) => IDLE_SLEEP,
            Err(_) => Duration::from_secs(1),
        };
        let all_busy = permits.available_permits() == 0;
        tokio::select! {
            _ = cancel.cancelled() => break,
            notified = wait_for_notification(&mut listener), if !all_busy => {
                if !notified { listener = connect_listener(&db).await; }
            }
            _ = in_flight.join_next(), if all_busy => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    tracing::info!(in_flight = in_flight.len(), "job workers stopping");
    while in_flight.join_next().await.is_some() {}
}

async fn connect_listener(db: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(db).await.ok()?;
    listener
        .listen(store::operations::NOTIFY_CHANNEL)
        .await
        .ok()?;
    Some(listener)
}

/// Waits for a notification; false when the listener is gone (the caller reconnects).
async fn wait_for_notification(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(l) => l.recv().await.is_ok(),
        None => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            false
        }
    }
}

/// Runs one claim to its recorded outcome. On shutdown the loop stops claiming and waits for
/// these: platform calls are short, and a claim that outlives the process is taken over by
/// another worker once its lease expires.
async fn run_one(
    db: &PgPool,
    platform: &dyn Platform,
    settings: &JobSettings,
    secrets: &Keyring,
    claim: Claimed,
) {
    let renew_every = settings.lease / 3;
    let lease_seconds = settings.lease.as_secs() as i64;
    let work = execute(db, platform, &claim);
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            result = &mut work => break Some(result),
            _ = tokio::time::sleep(renew_every) => {
                if !matches!(store::operations::renew(db, &claim, lease_seconds).await, Ok(true)) {
                    tracing::warn!("lease lost; another worker owns this operation now");
                    observability::job_attempt(claim.operation.kind.as_str(), JobOutcome::Lost, false);
                    break None;
                }
            }
        }
    };
    let Some(result) = result else { return };
    if let Err(error) = record(db, settings, secrets, &claim, result).await {
        tracing::warn!(%error, "could not record the outcome; the lease will expire and the operation run again");
    }
}

async fn record(
    db: &PgPool,
    settings: &JobSettings,
    secrets: &Keyring,
    claim: &Claimed,
    result: Result<Outcome, ExecuteError>,
) -> store::StoreResult<()> {
    let op = &claim.operation;
    let mut outcome = JobOutcome::Failed;
    let recorded = match result {
        Ok(Outcome::Waiting(what)) => {
            outcome = JobOutcome::Waiting;
            let recheck = if op.kind == OperationKind::Delete {
                settings.delete_recheck
            } else {
                settings.recheck
            };
            store::operations::wait_for_platform(db, claim, &what, recheck.as_secs().max(1) as i64)
                .await?
        }
        Ok(Outcome::Succeeded(effects)) => {
            outcome = JobOutcome::Succeeded;
            // A finished delete and the cluster row go together: no reader sees one without
            // the other.
            let mut tx = store::begin(db).await?;
            let done = effects::finish(
                &mut tx,
                claim,
                OperationState::Succeeded,
                None,
                &effects,
                secrets,
            )
            .await?;
            if done
                && op.kind == OperationKind::Delete
                && let Some(cluster_id) = op.cluster_id
            {
                store::retained::remove_cluster(&mut *tx, cluster_id, op.id).await?;
            }
            tx.commit().await.map_err(store::StoreError::from)?;
            done
        }
        Ok(Outcome::Failed(reason, effects)) => {
            tracing::warn!(%reason, "operation failed");
            let mut tx = store::begin(db).await?;
            let done = effects::finish(
                &mut tx,
                claim,
                OperationState::Failed,
                Some(&reason),
                &effects,
                secrets,
            )
            .await?;
            tx.commit().await.map_err(store::StoreError::from)?;
            done
        }
        Err(ExecuteError::Platform(PlatformError::NotYet(what))) => {
            // Not a failure: the platform will take it once it has caught up by itself.
            outcome = JobOutcome::Waiting;
            let what = format!("the platform to accept it: {what}");
            let recheck = settings.delete_recheck.as_secs().max(1) as i64;
            store::operations::not_yet(db, claim, &what, recheck).await?
        }
        Err(ExecuteError::Platform(PlatformError::Rejected(reason))) => {
            tracing::warn!(%reason, "platform rejected the operation");
            let mut tx = store::begin(db).await?;
            let done = store::operations::finish_claimed(
                &mut *tx,
                claim,
                OperationState::Failed,
                Some(&reason),
            )
            .await?;
            if done {
                undo_unapplied_update(&mut tx, op).await?;
            }
            tx.commit().await.map_err(store::StoreError::from)?;
            done
        }
        Err(error) => {
            // A transient failure is retried, with backoff, until the operation's deadline
            // (then `execute` fails it naming what it waited for and this last error): under a
            // fifth of Kubernetes calls failing, a budget of consecutive attempts failed a
            // healthy create now and then (found by the reliability suite), before or after
            // its apply.
            let message = error.to_string();
            let delay = backoff::delay(op.failures, settings.base_backoff, settings.max_backoff);
            tracing::info!(%message, retry_in = ?delay, "transient failure; will retry");
            outcome = JobOutcome::Retry;
            store::operations::retry_later(db, claim, &message, delay.as_secs_f64()).await?
        }
    };
    observability::job_attempt(op.kind.as_str(), outcome, recorded);
    if !recorded {
        tracing::warn!("outcome not recorded: the claim was superseded");
    }
    Ok(())
}

/// A refused update that never reached the platform changed nothing there, so the cluster's
/// desired spec goes back to what it was (as for a cancelled update): otherwise the API would
/// report, and the next change apply, a spec the platform refused (say, a storage size the
/// volumes cannot grow to). Kept when a later update builds on it.
async fn undo_unapplied_update(
    tx: &mut sqlx::PgConnection,
    op: &store::operations::OperationRow,
) -> store::StoreResult<()> {
    let (true, None, Some(cluster_id), Some(generation)) = (
        op.kind == OperationKind::Update,
        op.applied_at,
        op.cluster_id,
        op.target_generation,
    ) else {
        return Ok(());
    };
    let previous = store::operations::previous_spec(&mut *tx, op.id)
        .await?
        .and_then(|v| serde_json::from_value::<ClusterSpec>(v).ok());
    let Some(previous) = previous else {
        return Ok(());
    };
    let Ok(value) = serde_json::to_value(&previous) else {
        return Ok(());
    };
    let restored =
        store::clusters::restore_spec(tx, cluster_id, generation, &value, previous.usage()).await?;
    if restored {
        tracing::info!(%cluster_id, "the refused update was undone: the cluster keeps its previous spec");
    }
    Ok(())
}
