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
