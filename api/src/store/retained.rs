//! Backups kept after their cluster was deleted (`deletion_policy: keep_backups`).
//!
//! A row is written in the same transaction that removes the cluster's row
//! ([`remove_cluster`]), with the retention the delete operation promised the tenant. While a
//! row is retained its name stays reserved in the tenant: PGO finds a cluster's repository
//! volume by name, so a new cluster of that name would adopt the dead cluster's backups (and
//! pgBackRest would refuse to use them). Tenants with retained backups cannot be deleted.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreResult;

/// One deleted cluster's retained backups.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetainedRow {
    /// The deleted cluster's id (Kubernetes: the `pgplane.io/cluster-id` label of its claim).
    pub cluster_id: Uuid,
    pub cluster_name: String,
    pub deleted_at: DateTime<Utc>,
    pub retained_until: DateTime<Utc>,
}

impl RetainedRow {
    /// "`orders` (cluster 0190…, deleted 2026-12-01T…, kept until 2026-12-08T…)".
    pub fn describe(&self) -> String {
        format!(
            "`{}` (cluster {}, deleted {}, kept until {})",
            self.cluster_name,
            self.cluster_id,
            self.deleted_at.to_rfc3339(),
            self.retained_until.to_rfc3339()
        )
    }
}

const COLUMNS: &str = "cluster_id, cluster_name, deleted_at, retained_until";

/// Removes the cluster's row after its delete operation `operation_id` finished; a cluster
/// deleted with `keep_backups` leaves a retained-backups row, kept for the days the operation
/// recorded. One statement, so no reader sees the cluster gone and its backups unrecorded.
pub async fn remove_cluster(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    operation_id: Uuid,
) -> StoreResult<()> {
    sqlx::query(
        "with gone as (
             delete from clusters where id = $1
             returning id, tenant_id, name, site, spec
         )
         insert into retained_backups (cluster_id, tenant_id, cluster_name, site, retained_until)
         select gone.id, gone.tenant_id, gone.name, gone.site,
                now() + make_interval(days => coalesce(op.keep_backups_days, 0))
         from gone join operations op on op.id = $2
         where gone.spec ->> 'deletion_policy' = 'keep_backups'
         on conflict (cluster_id) do nothing",
    )
    .bind(cluster_id)
    .bind(operation_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The retained backups that reserve `name` in the tenant now.
pub async fn reserving_name(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    name: &str,
) -> StoreResult<Vec<RetainedRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from retained_backups
         where tenant_id = $1 and cluster_name = $2 and retained_until > now()
         order by deleted_at"
    )))
    .bind(tenant_id)
    .bind(name)
    .fetch_all(db)
    .await?)
}

/// The tenant's retained backups whose time has not come.
pub async fn of_tenant(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<Vec<RetainedRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from retained_backups
         where tenant_id = $1 and retained_until > now()
         order by deleted_at"
    )))
    .bind(tenant_id)
    .fetch_all(db)
    .await?)
}

/// Forgets the tenant's retained backups whose time has come (the platform deletes them on
/// its own schedule; the rows only reserve names).
pub async fn forget_expired(db: impl PgExecutor<'_>, tenant_id: Uuid) -> StoreResult<()> {
    sqlx::query("delete from retained_backups where tenant_id = $1 and retained_until <= now()")
        .bind(tenant_id)
        .execute(db)
        .await?;
    Ok(())
}
