//! Cheap, tenant-free aggregates of the metadata database for `/metrics`: where the jobs stand
//! and how many clusters are in each phase. Both read only active operations (the partial index
//! `operations_claimable_idx`) or one small grouped scan of `clusters`.

use sqlx::PgPool;

use super::StoreResult;

/// The job queue right now, over active (pending or running) operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct QueueSample {
    /// Due and unclaimed (no live lease): waiting for a worker.
    pub queued: i64,
    /// Claimed by a worker (live lease).
    pub running: i64,
    /// Not due yet: waiting for the platform or backing off before a retry.
    pub scheduled: i64,
    /// Seconds the oldest queued job has been due; 0 when none is queued.
    pub oldest_queued_seconds: f64,
    /// Seconds since the oldest active operation was created; 0 when none is active.
    pub oldest_active_seconds: f64,
}

/// One pass over the active operations.
pub async fn queue(db: &PgPool) -> StoreResult<QueueSample> {
    Ok(sqlx::query_as(
        "with active as (
             select created_at, run_after,
                    coalesce(lease_expires_at > now(), false) as leased
               from operations
              where state in ('pending', 'running'))
         select count(*) filter (where not leased and run_after <= now()) as queued,
                count(*) filter (where leased) as running,
                count(*) filter (where not leased and run_after > now()) as scheduled,
                coalesce(extract(epoch from now() - min(run_after)
                    filter (where not leased and run_after <= now())), 0)::float8 as oldest_queued_seconds,
                coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as oldest_active_seconds
           from active",
    )
    .fetch_one(db)
    .await?)
}

/// `(phase, number of clusters)` for every phase that has clusters.
pub async fn clusters_by_phase(db: &PgPool) -> StoreResult<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("select phase, count(*) from clusters group by phase")
            .fetch_all(db)
            .await?,
    )
}

/// What the backup-health metrics need of one cluster with backups enabled.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackupFactsRow {
    pub tenant: String,
    pub cluster: String,
    pub spec: sqlx::types::Json<serde_json::Value>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the newest successful backup of any type finished.
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
    /// Finish times of the successful full backups, newest first (at most the retention cap).
    pub fulls: Vec<chrono::DateTime<chrono::Utc>>,
}

/// Every cluster with backups enabled (not being deleted), with its backup finish times; one
/// pass over `clusters` and index lookups into `backups_cluster_finished_idx`.
pub async fn backup_facts(db: &PgPool) -> StoreResult<Vec<BackupFactsRow>> {
    Ok(sqlx::query_as(
        "select t.name as tenant, c.name as cluster, c.spec, c.created_at,
                (select max(b.finished_at) from backups b
                  where b.cluster_id = c.id and b.state = 'succeeded') as last_success,
                array(select b.finished_at from backups b
                       where b.cluster_id = c.id and b.state = 'succeeded' and b.type = 'full'
                         and b.finished_at is not null
                       order by b.finished_at desc limit 30) as fulls
           from clusters c join tenants t on t.id = c.tenant_id
          where c.spec -> 'backups' ->> 'enabled' = 'true' and c.phase <> 'deleting'
          order by t.name, c.name",
    )
    .fetch_all(db)
    .await?)
}

/// What the certificate metrics need of one cluster whose platform reported its certificate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateFactsRow {
    pub tenant: String,
    pub cluster: String,
    /// `connection.certificate` (`domain::cluster::CertificateFacts`).
    pub certificate: sqlx::types::Json<serde_json::Value>,
}

/// Every cluster (not being deleted) with a reported certificate: one pass over `clusters`.
pub async fn certificate_facts(db: &PgPool) -> StoreResult<Vec<CertificateFactsRow>> {
    Ok(sqlx::query_as(
        "select t.name as tenant, c.name as cluster, c.connection -> 'certificate' as certificate
           from clusters c join tenants t on t.id = c.tenant_id
          where c.connection ? 'certificate' and c.phase <> 'deleting'
          order by t.name, c.name",
    )
    .fetch_all(db)
    .await?)
}

/// What the insights metrics need of one cluster (every cluster not being deleted; zeros until
/// its first collection).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InsightFactsRow {
    pub tenant: String,
    pub cluster: String,
    pub critical: i32,
    pub warning: i32,
    pub info: i32,
    /// Its newest snapshot failed.
    pub failing: bool,
}

/// Every cluster's findings by severity and whether its newest snapshot failed.
pub async fn insight_facts(db: &PgPool) -> StoreResult<Vec<InsightFactsRow>> {
    Ok(sqlx::query_as(
        "select t.name as tenant, c.name as cluster,
                coalesce(s.critical, 0) as critical, coalesce(s.warning, 0) as warning,
                coalesce(s.info, 0) as info, s.error is not null as failing
           from clusters c join tenants t on t.id = c.tenant_id
           left join insight_status s on s.cluster_id = c.id
          where c.phase <> 'deleting'
          order by t.name, c.name",
    )
    .fetch_all(db)
    .await?)
}
