//! The metadata database: the only module that writes SQL. Every function on a request path
//! that touches tenant data takes the tenant id, so no unscoped finder exists to misuse.
//! Constraint names from `migrations/` surface as [`StoreError::Constraint`] for the HTTP layer
//! to map to 409/422 at the call site.

pub mod api_keys;
pub mod audit;
pub mod backups;
pub mod clusters;
pub mod idempotency;
pub mod identities;
pub mod insights;
pub mod login_throttle;
pub mod memberships;
pub mod observability;
pub mod operations;
pub mod quotas;
pub mod retained;
pub mod sealed;
pub mod sessions;
pub mod targets;
pub mod tenants;
pub mod users;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

/// The embedded migrations from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A named constraint refused the write (unique, foreign key or check).
    #[error("constraint {constraint} violated ({kind:?})")]
    Constraint {
        kind: ConstraintKind,
        constraint: String,
    },
    #[error(transparent)]
    Database(sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Unique,
    ForeignKey,
    Check,
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = err {
            return StoreError::NotFound;
        }
        if let Some(db) = err.as_database_error() {
            let kind = match db.code().as_deref() {
                Some("23505") => Some(ConstraintKind::Unique),
                Some("23503") => Some(ConstraintKind::ForeignKey),
                Some("23514") => Some(ConstraintKind::Check),
                _ => None,
            };
            if let (Some(kind), Some(constraint)) = (kind, db.constraint()) {
                return StoreError::Constraint {
                    kind,
                    constraint: constraint.to_string(),
                };
            }
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// True when the database could not be reached or is shutting down or starting up (a
    /// restart, a failover): the request may succeed if retried, unlike a failing query.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // 57P01-57P03: admin/crash shutdown, cannot connect now; 08: connection exceptions.
            _ => err
                .as_database_error()
                .and_then(|db| db.code())
                .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        }
    }

    /// True when PostgreSQL refused a value rather than failed: a data exception (class 22:
    /// a NUL or invalid byte sequence, text that is not a number, a string too long, a number
    /// out of range) or a value too large to index (54000). Requests are the only source of
    /// such values, so they are the client's error, never a 500.
    pub fn is_invalid_value(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        err.as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| code.starts_with("22") || code == "54000")
    }

    /// True when the named constraint refused the write.
    pub fn is_constraint(&self, name: &str) -> bool {
        matches!(self, StoreError::Constraint { constraint, .. } if constraint == name)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How long a pooled connection may sit idle before it is pinged on the way out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// Opens the pool. Connections idle for a while are checked before use, so a restarted
/// database is survived.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // A ping before every query would double the round trips of the read path; a
        // connection is checked only after sitting idle (a restarted database is noticed then,
        // or on first use, which fails that one request with a retryable 503).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < IDLE_BEFORE_PING {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        .connect_with(options.application_name("pgplane"))
        .await
}

/// Applies pending migrations. sqlx holds an advisory lock meanwhile, so replicas starting
/// together migrate once.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// True when every embedded migration is applied (and none failed half-way).
pub async fn migrations_current(pool: &PgPool) -> StoreResult<bool> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(pool)
            .await?;
    Ok(applied == Some(latest))
}

/// Begins a transaction on a spawned task. sqlx 0.9.0 can hand out a connection still inside a
/// transaction when a `begin()` future is dropped mid-way (a cancelled request); running it to
/// completion on its own task avoids that (see CONVENTIONS.md).
pub async fn begin(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(result) => Ok(result?),
        Err(join_error) => Err(StoreError::Database(sqlx::Error::Io(
            std::io::Error::other(join_error.to_string()),
        ))),
    }
}

/// One page of a keyset-paginated list: rows after `after`, ordered by id (UUIDv7, so by
/// creation time), and whether more follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        Page {
            items: rows,
            has_more,
        }
    }
}
