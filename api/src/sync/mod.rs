//! Status flows back through one door: this module. The leader (one per metadata database, by
//! a PostgreSQL advisory lock held on a dedicated connection) runs the platform's watch and
//! turns each observation into the cluster's phase, observed generation and connection facts,
//! and completes the operations whose target generation is now observed. Other replicas wait
//! to take over; a dead leader's lock goes with its connection.

mod apply;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::platform::Platform;

/// Advisory lock key of the status-sync leader (arbitrary, fixed).
const LEADER_LOCK: i64 = 0x7067_706c_616e_6501;
/// How often a follower tries to become leader, and the leader checks it still is.
const LEADER_CHECK: Duration = Duration::from_secs(2);

/// Runs the sync until `cancel` fires, leading whenever this process holds the lock.
pub async fn run(
    db: PgPool,
    database_url: String,
    platform: Arc<dyn Platform>,
    cancel: CancellationToken,
) {
    while !cancel.is_cancelled() {
        match become_leader(&database_url).await {
            Ok(Some(lock)) => {
                tracing::info!(platform = platform.name(), "status sync leading");
                lead(&db, lock, platform.clone(), &cancel).await;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "status sync cannot reach the database"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(LEADER_CHECK) => {}
        }
    }
}

async fn become_leader(database_url: &str) -> Result<Option<PgConnection>, sqlx::Error> {
    let mut conn = PgConnection::connect(database_url).await?;
    let acquired: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut conn)
        .await?;
    Ok(acquired.then_some(conn))
}

/// Leads until cancelled or until the lock connection fails (then another replica may lead).
async fn lead(
    db: &PgPool,
    mut lock: PgConnection,
    platform: Arc<dyn Platform>,
    cancel: &CancellationToken,
) {
    let watch_cancel = cancel.child_token();
    let (events_tx, mut events) = mpsc::channel(1024);
    let watcher = {
        let (platform, token) = (platform.clone(), watch_cancel.clone());
        tokio::spawn(async move {
            if let Err(error) = platform.watch(events_tx, token).await {
                tracing::warn!(%error, "platform watch ended");
            }
        })
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                // Record what the platform reported last (e.g. servers stopped at shutdown).
                while let Ok(event) = events.try_recv() {
                    if let Err(error) = apply::apply(db, event).await {
                        tracing::warn!(%error, "could not record a platform observation");
                    }
                }
                break;
            }
            event = events.recv() => match event {
                Some(event) => {
                    if let Err(error) = apply::apply(db, event).await {
                        tracing::warn!(%error, "could not record a platform observation");
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep(LEADER_CHECK) => {
                if sqlx::query("select 1").execute(&mut lock).await.is_err() {
                    tracing::warn!("lost the status sync leader lock");
                    break;
                }
            }
        }
    }
    watch_cancel.cancel();
    let _ = watcher.await;
    let _ = lock.close().await;
}
