//! Tenant memberships: which user holds which role in which tenant.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Page, StoreResult};
use crate::domain::permissions::TenantRole;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The role `user_id` holds in `tenant_id`, if any.
pub async fn role_of(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<TenantRole>> {
    let role: Option<String> =
        sqlx::query_scalar("select role from memberships where tenant_id = $1 and user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(role.as_deref().and_then(TenantRole::parse))
}

pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<MemberRow>> {
    let rows = sqlx::query_as(
        "select m.user_id, u.email::text as email, u.name, m.role, m.created_at, m.updated_at
         from memberships m join users u on u.id = m.user_id
         where m.tenant_id = $1 and ($2::uuid is null or m.user_id > $2)
         order by m.user_id limit $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

pub async fn find(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<MemberRow>> {
    Ok(sqlx::query_as(
        "select m.user_id, u.email::text as email, u.name, m.role, m.created_at, m.updated_at
         from memberships m join users u on u.id = m.user_id
         where m.tenant_id = $1 and m.user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// Adds the user or changes their role.
pub async fn upsert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
    role: TenantRole,
) -> StoreResult<bool> {
    let inserted: bool = sqlx::query_scalar(
        "insert into memberships (tenant_id, user_id, role) values ($1, $2, $3)
         on conflict (tenant_id, user_id) do update set role = excluded.role, updated_at = now()
         returning (xmax = 0)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(role.as_str())
    .fetch_one(db)
    .await?;
    Ok(inserted)
}

pub async fn delete(db: impl PgExecutor<'_>, tenant_id: Uuid, user_id: Uuid) -> StoreResult<bool> {
    let result = sqlx::query("delete from memberships where tenant_id = $1 and user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Owners of the tenant, locked so that "is this the last owner?" holds until commit.
pub async fn lock_owners(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select user_id from memberships where tenant_id = $1 and role = 'owner' for update",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await?)
}

/// A tenant a user belongs to, with their role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserTenantRow {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub role: String,
}

/// Every tenant `user_id` is a member of, by name.
pub async fn tenants_of(pool: &PgPool, user_id: Uuid) -> StoreResult<Vec<UserTenantRow>> {
    Ok(sqlx::query_as(
        "select t.id as tenant_id, t.name as tenant_name, m.role
         from memberships m join tenants t on t.id = m.tenant_id
         where m.user_id = $1 order by t.name",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}
