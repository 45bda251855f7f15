//! Status flows back through one door: this module. The leader (one per metadata database, by
//! a PostgreSQL advisory lock held on a dedicated connection) runs the platform's watch and
//! turns each observation into the cluster's phase, observed generation and connection facts,
//! and completes the operations whose target generation is now observed. Other replicas wait
//! to take over; a dead leader loses the lock within seconds ([`leader`]).

mod apply;
pub mod leader;

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::observability;
use crate::platform::Platform;
use crate::secrets::Keyring;

/// Platform events buffered between the watch and the database (the backlog metric's bound).
const EVENT_BUFFER: usize = 1024;
/// How often the leader deletes backups kept past their retention after a cluster's deletion.
const EXPIRE_RETAINED_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
/// How long a stopping leader keeps recording the events the platform still reports.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the sync until `cancel` fires, leading whenever this process holds the lock.
pub async fn run(
    db: PgPool,
    database_url: String,
    platform: Arc<dyn Platform>,
    secrets: Arc<Keyring>,
    cancel: CancellationToken,
) {
    observability::sync_leading(false);
    while !cancel.is_cancelled() {
        match leader::try_acquire(&database_url).await {
            Ok(Some(leadership)) => {
                tracing::info!(platform = platform.name(), "status sync leading");
                observability::sync_leading(true);
                lead(&db, &secrets, &leadership, platform.clone(), &cancel).await;
                observability::sync_leading(false);
                leadership.release().await;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "status sync cannot reach the database"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(leader::CHECK_EVERY) => {}
        }
    }
}

/// Leads until cancelled, until the watch ends, or until the lock is lost (then another
/// replica may lead).
async fn lead(
    db: &PgPool,
    secrets: &Keyring,
    leadership: &leader::Leadership,
    platform: Arc<dyn Platform>,
    cancel: &CancellationToken,
) {
    let watch_cancel = cancel.child_token();
    let (events_tx, raw_events) = mpsc::channel(1);
    let mut events = observability::timed(raw_events, EVENT_BUFFER);
    let watcher = {
        let (platform, token) = (platform.clone(), watch_cancel.clone());
        tokio::spawn(async move {
            if let Err(error) = platform.watch(events_tx, token).await {
                tracing::warn!(%error, "platform watch ended");
            }
        })
    };
    let sweeper = {
        let (platform, token) = (platform.clone(), watch_cancel.clone());
        tokio::spawn(async move { expire_retained_backups(platform, token).await })
    };
    let renewer = {
        let (platform, token) = (platform.clone(), watch_cancel.clone());
        tokio::spawn(async move { renew_certificates(platform, token).await })
    };
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                // Record what the platform reported last (e.g. servers stopped at shutdown):
                // the watch ends, and every event still on its way is taken in.
                watch_cancel.cancel();
                let drain = async {
                    while let Some(timed) = events.recv().await {
                        record(db, secrets, timed, 0).await;
                    }
                };
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
                break;
            }
            _ = leadership.lost().cancelled() => {
                tracing::warn!("lost the status sync leader lock");
                break;
            }
            event = events.recv() => match event {
                Some(timed) => {
                    // Recorded to the end even if the lock is lost meanwhile: an observation's
                    // writes are not one transaction, and half of one is worse than a late one.
                    let backlog = events.len();
                    record(db, secrets, timed, backlog).await;
                }
                None => break,
            },
        }
    }
    watch_cancel.cancel();
    let _ = watcher.await;
    let _ = sweeper.await;
    let _ = renewer.await;
}

/// Deletes expired retained backups at once and then every [`EXPIRE_RETAINED_EVERY`].
async fn expire_retained_backups(platform: Arc<dyn Platform>, cancel: CancellationToken) {
    loop {
        match platform.expire_retained_backups().await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "deleted backups kept past their retention"),
            Err(error) => tracing::warn!(%error, "could not expire retained backups"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(EXPIRE_RETAINED_EVERY) => {}
        }
    }
}

/// Renews the certificates that are due at once and then every
/// [`Platform::certificate_check_every`].
async fn renew_certificates(platform: Arc<dyn Platform>, cancel: CancellationToken) {
    loop {
        match platform.renew_certificates().await {
            Ok(0) => {}
            Ok(renewed) => tracing::info!(renewed, "renewed cluster certificates"),
            Err(error) => tracing::warn!(%error, "could not look for certificates to renew"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(platform.certificate_check_every()) => {}
        }
    }
}

/// Records one event in the metadata database, with its metrics.
async fn record(db: &PgPool, secrets: &Keyring, timed: observability::Timed, backlog: usize) {
    let kind = observability::event_label(&timed.event);
    let recorded = apply::apply(db, secrets, timed.event).await;
    if let Err(error) = &recorded {
        tracing::warn!(%error, "could not record a platform observation");
    }
    observability::sync_event(kind, timed.received, recorded.is_ok(), backlog);
}
