//! Portal sessions, by the SHA-256 of their id (see `auth::session`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreResult;

/// A live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub client_address: &'a str,
    pub user_agent: Option<&'a str>,
}

pub async fn create(db: impl PgExecutor<'_>, session: &NewSession<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into sessions (id_hash, user_id, expires_at, client_address, user_agent)
         values ($1, $2, $3, left($4, 100), left($5, 300))",
    )
    .bind(session.id_hash)
    .bind(session.user_id)
    .bind(session.expires_at)
    .bind(session.client_address)
    .bind(session.user_agent)
    .execute(db)
    .await?;
    Ok(())
}

/// The session with this id hash, unless it was revoked or expired.
pub async fn find_live(db: impl PgExecutor<'_>, id_hash: &[u8]) -> StoreResult<Option<SessionRow>> {
    Ok(sqlx::query_as(
        "select user_id, expires_at, last_seen_at from sessions
         where id_hash = $1 and revoked_at is null and expires_at > now()",
    )
    .bind(id_hash)
    .fetch_optional(db)
    .await?)
}

/// Records that the session was used now.
pub async fn touch(db: impl PgExecutor<'_>, id_hash: &[u8]) -> StoreResult<()> {
    sqlx::query("update sessions set last_seen_at = now() where id_hash = $1")
        .bind(id_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends the session (sign-out); whether it was live.
pub async fn revoke(db: impl PgExecutor<'_>, id_hash: &[u8]) -> StoreResult<bool> {
    let done = sqlx::query(
        "update sessions set revoked_at = now() where id_hash = $1 and revoked_at is null",
    )
    .bind(id_hash)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets sessions that ended more than a day ago.
pub async fn delete_ended(db: impl PgExecutor<'_>) -> StoreResult<u64> {
    let done = sqlx::query(
        "delete from sessions where expires_at < now() - interval '1 day'
            or revoked_at < now() - interval '1 day'",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
