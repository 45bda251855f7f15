//! API keys: personal keys (act as their user) and tenant service keys (hold a role in one
//! tenant). Lookup is by the SHA-256 of the presented key.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Page, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub user_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub role: Option<String>,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of that last use.
    pub last_used_from: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, prefix, user_id, tenant_id, role, created_by, expires_at, \
                       last_used_at, last_used_from, revoked_at, created_at, updated_at";

/// Whose key it is.
#[derive(Debug, Clone, Copy)]
pub enum KeyOwner {
    User(Uuid),
    Tenant(Uuid),
}

impl KeyOwner {
    fn columns(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            KeyOwner::User(user) => (Some(user), None),
            KeyOwner::Tenant(tenant) => (None, Some(tenant)),
        }
    }
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a [u8],
    pub owner: KeyOwner,
    /// The role of a tenant key; `None` for personal keys.
    pub role: Option<&'a str>,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create(db: impl PgExecutor<'_>, key: &NewApiKey<'_>) -> StoreResult<ApiKeyRow> {
    let (user_id, tenant_id) = key.owner.columns();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into api_keys (id, name, prefix, key_hash, user_id, tenant_id, role, created_by, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.hash)
    .bind(user_id)
    .bind(tenant_id)
    .bind(key.role)
    .bind(key.created_by)
    .bind(key.expires_at)
    .fetch_one(db)
    .await?)
}

/// The usable (not revoked, not expired) key with this hash, marking it used from `client`.
/// The last use is written at most once a minute per key (or when the address changes) so
/// authentication does not turn every read into a write.
pub async fn authenticate(
    pool: &PgPool,
    hash: &[u8],
    client: &str,
) -> StoreResult<Option<ApiKeyRow>> {
    let key: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from api_keys
         where key_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())"
    )))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    if let Some(key) = &key
        && (key
            .last_used_at
            .is_none_or(|t| t < Utc::now() - chrono::Duration::minutes(1))
            || key.last_used_from.as_deref() != Some(client))
    {
        sqlx::query("update api_keys set last_used_at = now(), last_used_from = left($2, 100) where id = $1")
            .bind(key.id)
            .bind(client)
            .execute(pool)
            .await?;
    }
    Ok(key)
}

/// Keys of one owner, revoked ones included (they show when they were revoked).
pub async fn list(
    pool: &PgPool,
    owner: KeyOwner,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<ApiKeyRow>> {
    let (user_id, tenant_id) = owner.columns();
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from api_keys
         where user_id is not distinct from $1 and tenant_id is not distinct from $2
           and ($3::uuid is null or id > $3)
         order by id limit $4"
    )))
    .bind(user_id)
    .bind(tenant_id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// A key with whose it is, for platform admins.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedApiKeyRow {
    #[sqlx(flatten)]
    pub key: ApiKeyRow,
    /// The user of a personal key.
    pub user_email: Option<String>,
    /// The tenant of a service key.
    pub tenant_name: Option<String>,
}

/// Usable keys of every owner not used (or, never used, not created) in the last `days`,
/// the longest unused first.
pub async fn unused(
    pool: &PgPool,
    days: u32,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<OwnedApiKeyRow>> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("k.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    // Keyset on (last activity, id): the page token is the last key's id, whose activity is
    // looked up again.
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {columns}, u.email::text as user_email, t.name as tenant_name
         from api_keys k
         left join users u on u.id = k.user_id
         left join tenants t on t.id = k.tenant_id
         where k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
           and coalesce(k.last_used_at, k.created_at) < now() - make_interval(days => $1)
           and ($2::uuid is null or (coalesce(k.last_used_at, k.created_at), k.id) >
                (select coalesce(last_used_at, created_at), id from api_keys where id = $2))
         order by coalesce(k.last_used_at, k.created_at), k.id limit $3"
    )))
    .bind(days as i32)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Revokes a key of this owner. Returns false when the owner has no such key.
pub async fn revoke(db: impl PgExecutor<'_>, owner: KeyOwner, id: Uuid) -> StoreResult<bool> {
    let (user_id, tenant_id) = owner.columns();
    let result = sqlx::query(
        "update api_keys set revoked_at = coalesce(revoked_at, now()), updated_at = now()
         where id = $1 and user_id is not distinct from $2 and tenant_id is not distinct from $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(tenant_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}
