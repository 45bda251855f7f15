//! Tenants. A tenant is created together with its quota row so the quota lock always exists.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Page, StoreResult};
use crate::domain::quota::QuotaLimits;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, display_name, suspended, created_at, updated_at";

/// Creates a tenant and its quota in one transaction.
pub async fn create(
    pool: &PgPool,
    name: &str,
    display_name: &str,
    quota: &QuotaLimits,
) -> StoreResult<TenantRow> {
    let mut tx = super::begin(pool).await?;
    let tenant: TenantRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into tenants (id, name, display_name) values ($1, $2, $3) returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(display_name)
    .fetch_one(&mut *tx)
    .await?;
    super::quotas::insert(&mut *tx, tenant.id, quota).await?;
    tx.commit().await?;
    Ok(tenant)
}

pub async fn find_by_name(db: impl PgExecutor<'_>, name: &str) -> StoreResult<Option<TenantRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from tenants where name = $1"
    )))
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// A tenant with the role `user_id` holds in it, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantWithRole {
    #[sqlx(flatten)]
    pub tenant: TenantRow,
    pub role: Option<String>,
}

/// The tenant named `name` and the member role of `user_id` in it, in one round trip (every
/// tenant-scoped request of a person needs both).
pub async fn find_with_role(
    db: impl PgExecutor<'_>,
    name: &str,
    user_id: Uuid,
) -> StoreResult<Option<TenantWithRole>> {
    Ok(sqlx::query_as(
        "select t.id, t.name, t.display_name, t.suspended, t.created_at, t.updated_at, m.role
         from tenants t left join memberships m on m.tenant_id = t.id and m.user_id = $2
         where t.name = $1",
    )
    .bind(name)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// Locks the tenant row for an update in the caller's transaction.
pub async fn lock(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<TenantRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from tenants where id = $1 for update"
    )))
    .bind(tenant_id)
    .fetch_one(db)
    .await?)
}

/// Every tenant (platform admins), or only those `member` belongs to.
pub async fn list(
    pool: &PgPool,
    visible_to: TenantVisibility,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<TenantRow>> {
    let (user_id, tenant_id) = match visible_to {
        TenantVisibility::All => (None, None),
        TenantVisibility::MemberOf(user) => (Some(user), None),
        TenantVisibility::Only(tenant) => (None, Some(tenant)),
    };
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from tenants t
         where ($1::uuid is null or t.id > $1)
           and ($2::uuid is null or exists (
                select 1 from memberships m where m.tenant_id = t.id and m.user_id = $2))
           and ($3::uuid is null or t.id = $3)
         order by t.id limit $4"
    )))
    .bind(after)
    .bind(user_id)
    .bind(tenant_id)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Which tenants a caller may see in lists.
#[derive(Debug, Clone, Copy)]
pub enum TenantVisibility {
    All,
    MemberOf(Uuid),
    Only(Uuid),
}

pub async fn update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    display_name: &str,
    suspended: bool,
) -> StoreResult<TenantRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update tenants set display_name = $2, suspended = $3, updated_at = now()
         where id = $1 returning {COLUMNS}"
    )))
    .bind(tenant_id)
    .bind(display_name)
    .bind(suspended)
    .fetch_one(db)
    .await?)
}

/// Number of clusters (in any state) a tenant still has.
pub async fn cluster_count(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from clusters where tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(db)
            .await?,
    )
}

/// Deletes the tenant, remembering its id under its name: a later tenant of the same name
/// adopts what the platform kept for this one (its namespace), see [`former_ids`].
pub async fn delete(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<()> {
    sqlx::query(
        "with gone as (delete from tenants where id = $1 returning id, name)
         insert into deleted_tenants (id, name) select id, name from gone
         on conflict (id) do nothing",
    )
    .bind(tenant_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The ids of deleted tenants that had this name.
pub async fn former_ids(db: impl PgExecutor<'_>, name: &str) -> StoreResult<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("select id from deleted_tenants where name = $1 order by deleted_at")
            .bind(name)
            .fetch_all(db)
            .await?,
    )
}

pub async fn get(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<TenantRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from tenants where id = $1"
    )))
    .bind(tenant_id)
    .fetch_one(db)
    .await?)
}
