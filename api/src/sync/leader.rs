//! The status-sync leader lock: a PostgreSQL session advisory lock held on a dedicated
//! connection, checked by its own task so that a busy sync never delays the check.
//!
//! A dead leader loses the lock within seconds, however it died:
//! - its process dies: the kernel closes the connection and the server releases the lock at
//!   once; a follower takes it at its next try ([`CHECK_EVERY`]);
//! - its node or network dies and nothing closes the connection: the lock session runs with
//!   `idle_session_timeout` = [`SESSION_IDLE_TIMEOUT`], so the server ends it once the leader's
//!   checks stop arriving (TCP keepalives are set too, for servers older than PostgreSQL 14);
//! - the leader itself steps down when a check does not answer within [`CHECK_TIMEOUT`]. A
//!   check is due every [`CHECK_EVERY`], so a leader cut off from the database stops within
//!   `CHECK_EVERY + CHECK_TIMEOUT` (5 s) of its last answered check, before the server's idle
//!   timeout (6 s) lets another replica lead.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Advisory lock key of the status-sync leader (arbitrary, fixed).
pub const LEADER_LOCK: i64 = 0x7067_706c_616e_6501;
/// How often the leader checks its lock session, and a follower tries to take the lock.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// A check (or an attempt to take the lock) that takes longer counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// The server ends the lock session after this long without a check.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(6);
// A leader cut off from the database steps down before the server frees the lock, and a live
// leader's session is never idle for long.
const _: () = assert!(
    CHECK_EVERY.as_millis() + CHECK_TIMEOUT.as_millis() < SESSION_IDLE_TIMEOUT.as_millis()
        && 2 * CHECK_EVERY.as_millis() < SESSION_IDLE_TIMEOUT.as_millis()
);

/// `application_name` of the lock session (which replica leads: `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "pgplane-sync-leader";

/// Settings of the lock session; each is applied on its own so that an older server lacking
/// one (e.g. `idle_session_timeout` before PostgreSQL 14) still gets the others.
fn session_settings() -> [(&'static str, String); 5] {
    let ms = |d: Duration| d.as_millis().to_string();
    [
        ("idle_session_timeout", ms(SESSION_IDLE_TIMEOUT)),
        ("tcp_keepalives_idle", "2".into()),
        ("tcp_keepalives_interval", "1".into()),
        ("tcp_keepalives_count", "3".into()),
        ("tcp_user_timeout", ms(SESSION_IDLE_TIMEOUT)),
    ]
}

/// Leadership held by this process until [`Leadership::release`] or until it is lost.
pub struct Leadership {
    lost: CancellationToken,
    release: CancellationToken,
    keeper: JoinHandle<()>,
}

impl Leadership {
    /// Fires when the lock session failed or stopped answering: stop leading.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Gives the lock up (closing its session) and waits for the keeper to end.
    pub async fn release(mut self) {
        self.release.cancel();
        let _ = (&mut self.keeper).await;
    }
}

impl Drop for Leadership {
    /// Dropped without [`Leadership::release`] (the sync task aborted): the keeper goes too, and
    /// with it the lock session, as if the process had died.
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

fn timed_out(what: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} did not answer within {} s", CHECK_TIMEOUT.as_secs()),
    ))
}

/// Tries once to take the lock: `None` when another process holds it.
pub async fn try_acquire(database_url: &str) -> Result<Option<Leadership>, sqlx::Error> {
    let attempt = async {
        let options: PgConnectOptions = database_url.parse()?;
        let mut conn = options.application_name(APPLICATION_NAME).connect().await?;
        for (name, value) in session_settings() {
            let set = sqlx::query("select set_config($1, $2, false)")
                .bind(name)
                .bind(&value)
                .execute(&mut conn)
                .await;
            if let Err(error) = set {
                tracing::warn!(setting = name, %error, "the leader lock session cannot use this setting");
            }
        }
        let acquired: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>(acquired.then_some(conn))
    };
    let conn = match tokio::time::timeout(CHECK_TIMEOUT, attempt).await {
        Ok(result) => result?,
        Err(_) => return Err(timed_out("the metadata database")),
    };
    Ok(conn.map(|conn| {
        let (lost, release) = (CancellationToken::new(), CancellationToken::new());
        let keeper = tokio::spawn(keep(conn, lost.clone(), release.clone()));
        Leadership {
            lost,
            release,
            keeper,
        }
    }))
}

/// Checks the lock session every [`CHECK_EVERY`] until released (then closes it) or until a
/// check fails (then drops it and fires `lost`).
async fn keep(mut conn: PgConnection, lost: CancellationToken, release: CancellationToken) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            () = release.cancelled() => {
                let _ = tokio::time::timeout(CHECK_TIMEOUT, conn.close()).await;
                return;
            }
            _ = every.tick() => {
                let check = sqlx::query("select 1").execute(&mut conn);
                match tokio::time::timeout(CHECK_TIMEOUT, check).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "the status sync leader lock session failed");
                        break;
                    }
                    Err(_) => {
                        tracing::warn!("the status sync leader lock session stopped answering");
                        break;
                    }
                }
            }
        }
    }
    lost.cancel();
}
