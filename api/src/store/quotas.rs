//! Quotas and usage. [`lock_and_check`] is the one place quota is enforced: it locks the tenant's
//! quota row, so two concurrent transactions that both want to grow usage run one after the
//! other and the second sees the first's clusters.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::quota::{self, ExceededLimit, QuotaLimits, ResourceUsage};

#[derive(Debug, Clone, sqlx::FromRow)]
struct QuotaRow {
    max_clusters: i32,
    max_instances: i32,
    max_cpu_millis: i64,
    max_memory_mib: i64,
    max_storage_gib: i64,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<QuotaRow> for (QuotaLimits, chrono::DateTime<chrono::Utc>) {
    fn from(row: QuotaRow) -> Self {
        let QuotaRow {
            max_clusters,
            max_instances,
            max_cpu_millis,
            max_memory_mib,
            max_storage_gib,
            updated_at,
        } = row;
        (
            QuotaLimits {
                max_clusters,
                max_instances,
                max_cpu_millis,
                max_memory_mib,
                max_storage_gib,
            },
            updated_at,
        )
    }
}

const COLUMNS: &str =
    "max_clusters, max_instances, max_cpu_millis, max_memory_mib, max_storage_gib, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    limits: &QuotaLimits,
) -> StoreResult<()> {
    sqlx::query(
        "insert into quotas (tenant_id, max_clusters, max_instances, max_cpu_millis, max_memory_mib, max_storage_gib)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(limits.max_clusters)
    .bind(limits.max_instances)
    .bind(limits.max_cpu_millis)
    .bind(limits.max_memory_mib)
    .bind(limits.max_storage_gib)
    .execute(db)
    .await?;
    Ok(())
}

/// The tenant's limits and when they last changed.
pub async fn get(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> StoreResult<(QuotaLimits, chrono::DateTime<chrono::Utc>)> {
    let row: QuotaRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from quotas where tenant_id = $1"
    )))
    .bind(tenant_id)
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

pub async fn set(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    limits: &QuotaLimits,
) -> StoreResult<(QuotaLimits, chrono::DateTime<chrono::Utc>)> {
    let row: QuotaRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update quotas set max_clusters = $2, max_instances = $3, max_cpu_millis = $4,
                max_memory_mib = $5, max_storage_gib = $6, updated_at = now()
         where tenant_id = $1 returning {COLUMNS}"
    )))
    .bind(tenant_id)
    .bind(limits.max_clusters)
    .bind(limits.max_instances)
    .bind(limits.max_cpu_millis)
    .bind(limits.max_memory_mib)
    .bind(limits.max_storage_gib)
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// Current usage, summed over the desired specs of the tenant's clusters.
pub async fn usage(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<ResourceUsage> {
    let (clusters, instances, cpu_millis, memory_mib, storage_gib): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "select count(*), coalesce(sum(instances), 0)::bigint, coalesce(sum(cpu_millis), 0)::bigint,
                    coalesce(sum(memory_mib), 0)::bigint, coalesce(sum(storage_gib), 0)::bigint
             from clusters where tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_one(db)
        .await?;
    Ok(ResourceUsage {
        clusters,
        instances,
        cpu_millis,
        memory_mib,
        storage_gib,
    })
}

/// Locks the tenant's quota and checks that adding `growth` to current usage stays within it.
/// Call inside the transaction that then writes the clusters; the lock is held until commit.
pub async fn lock_and_check(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    growth: ResourceUsage,
) -> StoreResult<Result<(), Vec<ExceededLimit>>> {
    let row: QuotaRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from quotas where tenant_id = $1 for update"
    )))
    .bind(tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    let (limits, _) = row.into();
    let current = usage(&mut *tx, tenant_id).await?;
    let over = quota::exceeded(&limits, current, current.plus(growth));
    Ok(if over.is_empty() { Ok(()) } else { Err(over) })
}
