//! Users (people with a password). Password hashes never leave this module except to the login
//! check, through [`find_credentials`].

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Page, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_platform_admin: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, email::text as email, name, is_platform_admin, disabled, created_at, updated_at";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_platform_admin: bool,
}

pub async fn create(db: impl PgExecutor<'_>, user: &NewUser<'_>) -> StoreResult<UserRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into users (id, email, name, password_hash, is_platform_admin)
         values ($1, $2, $3, $4, $5) returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(user.email)
    .bind(user.name)
    .bind(user.password_hash)
    .bind(user.is_platform_admin)
    .fetch_one(db)
    .await?)
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<Option<UserRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from users where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> StoreResult<Option<UserRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        // As citext, so the comparison ignores case as the column's unique index does (a
        // text parameter would compare the column cast to text, case-sensitively).
        "select {COLUMNS} from users where email = $1::citext"
    )))
    .bind(email)
    .fetch_optional(db)
    .await?)
}

/// A user addressed in a path either by id or by email.
pub async fn find_by_id_or_email(
    db: impl PgExecutor<'_>,
    key: &str,
) -> StoreResult<Option<UserRow>> {
    match key.parse::<Uuid>() {
        Ok(id) => find(db, id).await,
        Err(_) => find_by_email(db, key).await,
    }
}

/// The user id, password hash and disabled flag for a login attempt.
pub async fn find_credentials(
    pool: &PgPool,
    email: &str,
) -> StoreResult<Option<(Uuid, String, bool)>> {
    Ok(
        sqlx::query_as("select id, password_hash, disabled from users where email = $1::citext")
            .bind(email)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn list(pool: &PgPool, after: Option<Uuid>, limit: i64) -> StoreResult<Page<UserRow>> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from users where ($1::uuid is null or id > $1) order by id limit $2"
    )))
    .bind(after)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Fields a platform admin may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges<'a> {
    pub name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub is_platform_admin: Option<bool>,
    pub disabled: Option<bool>,
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    changes: &UserChanges<'_>,
) -> StoreResult<UserRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update users set name = coalesce($2, name), password_hash = coalesce($3, password_hash),
                is_platform_admin = coalesce($4, is_platform_admin), disabled = coalesce($5, disabled),
                updated_at = now()
         where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .bind(changes.name)
    .bind(changes.password_hash)
    .bind(changes.is_platform_admin)
    .bind(changes.disabled)
    .fetch_one(db)
    .await?)
}

/// Locks every active platform admin row, returning how many there are. Used so the last
/// admin cannot be demoted, disabled or deleted by two concurrent requests.
pub async fn lock_active_admins(db: impl PgExecutor<'_>) -> StoreResult<i64> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from users where is_platform_admin and not disabled for update",
    )
    .fetch_all(db)
    .await?;
    Ok(ids.len() as i64)
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<()> {
    sqlx::query("delete from users where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
