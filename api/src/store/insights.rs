//! The insights collector's tables: which clusters are due (`insight_schedule`), and the
//! snapshots it took (`insight_snapshots`, pruned per cluster as it stores).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::cluster::naming::INSIGHTS_ROLE;

/// What the collector needs to reach one cluster.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueCluster {
    pub cluster_id: Uuid,
    pub tenant_id: Uuid,
    pub spec: Json<serde_json::Value>,
    /// The connection facts the status sync recorded (endpoints, CA).
    pub connection: Json<serde_json::Value>,
    /// The monitoring role's password, sealed.
    pub password: String,
}

/// Claims up to `limit` clusters due for collection (never collected, or due), moving each one's
/// due time to `now + every`: one statement, so two replicas never claim the same cluster.
/// Only clusters whose monitoring role exists (its password was reported) are collected; the
/// role's name is written out so the partial index `clusters_insights_idx` serves the scan.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    every: std::time::Duration,
) -> StoreResult<Vec<DueCluster>> {
    Ok(sqlx::query_as(
        "with claimed as (
             insert into insight_schedule (cluster_id, due_at)
             select c.id, now() + make_interval(secs => $2)
               from clusters c left join insight_schedule s on s.cluster_id = c.id
              where c.role_passwords ? 'pgplane-monitor' and c.phase <> 'deleting'
                and (s.due_at is null or s.due_at <= now())
              order by s.due_at nulls first
              limit $1
             on conflict (cluster_id) do update set due_at = excluded.due_at
              where insight_schedule.due_at <= now()
             returning cluster_id)
         select c.id as cluster_id, c.tenant_id, c.spec, c.connection,
                c.role_passwords ->> $3 as password
           from clusters c join claimed on claimed.cluster_id = c.id",
    )
    .bind(limit)
    .bind(every.as_secs_f64())
    .bind(INSIGHTS_ROLE)
    .fetch_all(db)
    .await?)
}

/// Makes the cluster due now (a refresh); the next collector pass takes it.
pub async fn make_due(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<()> {
    sqlx::query(
        "insert into insight_schedule (cluster_id, due_at) values ($1, now())
         on conflict (cluster_id) do update set due_at = now()",
    )
    .bind(cluster_id)
    .execute(db)
    .await?;
    Ok(())
}

/// A snapshot's outcome: its data (JSON) or why it failed.
pub enum Outcome<'a> {
    Taken(&'a serde_json::Value),
    Failed(&'a str),
}

/// Stores a snapshot of `cluster_id` taken at `taken_at`, then prunes the cluster's snapshots
/// past retention (every one after `keep_all`, the hourly ones after `keep_hourly`); returns
/// the stored size in bytes.
pub async fn store(
    db: &sqlx::PgPool,
    cluster_id: Uuid,
    taken_at: DateTime<Utc>,
    outcome: Outcome<'_>,
    keep_all: std::time::Duration,
    keep_hourly: std::time::Duration,
) -> StoreResult<i64> {
    let (data, error) = match outcome {
        Outcome::Taken(data) => (Some(data), None),
        Outcome::Failed(error) => (None, Some(error.chars().take(2000).collect::<String>())),
    };
    let mut tx = db.begin().await?;
    let bytes: i32 = sqlx::query_scalar(
        "insert into insight_snapshots (id, cluster_id, taken_at, hourly, error, data, bytes)
         select $1, $2, $3,
                not exists (select 1 from insight_snapshots
                             where cluster_id = $2 and hourly
                               and date_trunc('hour', taken_at) = date_trunc('hour', $3::timestamptz)),
                $4, $5, coalesce(octet_length($5::text), 0) + coalesce(octet_length($4), 0)
         returning bytes",
    )
    .bind(Uuid::now_v7())
    .bind(cluster_id)
    .bind(taken_at)
    .bind(error)
    .bind(data.map(Json))
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "delete from insight_snapshots
          where cluster_id = $1
            and (taken_at < $2::timestamptz - make_interval(secs => $4)
                 or (not hourly and taken_at < $2::timestamptz - make_interval(secs => $3)))",
    )
    .bind(cluster_id)
    .bind(taken_at)
    .bind(keep_all.as_secs_f64())
    .bind(keep_hourly.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(i64::from(bytes))
}

/// One stored snapshot.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SnapshotRow {
    pub taken_at: DateTime<Utc>,
    pub error: Option<String>,
    pub data: Option<Json<serde_json::Value>>,
}

/// The newest snapshot of the cluster, successful or not.
pub async fn newest(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<Option<SnapshotRow>> {
    Ok(sqlx::query_as(
        "select taken_at, error, data from insight_snapshots
          where cluster_id = $1 order by taken_at desc limit 1",
    )
    .bind(cluster_id)
    .fetch_optional(db)
    .await?)
}

/// The oldest and the newest successful snapshots since `since` (the same one when there is
/// one; none when there is none).
pub async fn window(
    db: impl PgExecutor<'_> + Copy,
    cluster_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<Option<(SnapshotRow, SnapshotRow)>> {
    let pick = |order: &'static str| {
        let query = format!(
            "select taken_at, error, data from insight_snapshots
              where cluster_id = $1 and taken_at >= $2 and data is not null
              order by taken_at {order} limit 1"
        );
        sqlx::query_as::<_, SnapshotRow>(sqlx::AssertSqlSafe(query))
            .bind(cluster_id)
            .bind(since)
            .fetch_optional(db)
    };
    let (Some(oldest), Some(newest)) = (pick("asc").await?, pick("desc").await?) else {
        return Ok(None);
    };
    Ok(Some((oldest, newest)))
}

/// The newest successful snapshot taken at or before `at`.
pub async fn at_or_before(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<Option<SnapshotRow>> {
    Ok(sqlx::query_as(
        "select taken_at, error, data from insight_snapshots
          where cluster_id = $1 and taken_at <= $2 and data is not null
          order by taken_at desc limit 1",
    )
    .bind(cluster_id)
    .bind(at)
    .fetch_optional(db)
    .await?)
}

/// The databases' total size at each successful snapshot since `since`, oldest first: what the
/// storage forecast is fitted to (summed in the database: snapshots stay where they are).
pub async fn storage_points(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<Vec<(DateTime<Utc>, i64)>> {
    Ok(sqlx::query_as(
        "select taken_at,
                coalesce((select sum((d ->> 'bytes')::bigint)
                            from jsonb_array_elements(data -> 'databases') d), 0)::bigint
           from insight_snapshots
          where cluster_id = $1 and taken_at >= $2 and data is not null
          order by taken_at",
    )
    .bind(cluster_id)
    .bind(since)
    .fetch_all(db)
    .await?)
}

/// Findings of one snapshot by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingCounts {
    pub critical: i32,
    pub warning: i32,
    pub info: i32,
}

/// Records the cluster's newest collection: a success with its findings' counts, or a failure
/// (the counts of the last success stay).
pub async fn record_status(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    attempted_at: DateTime<Utc>,
    outcome: Result<FindingCounts, &str>,
) -> StoreResult<()> {
    let (error, counts) = match outcome {
        Ok(counts) => (None, Some(counts)),
        Err(error) => (Some(error.chars().take(2000).collect::<String>()), None),
    };
    sqlx::query(
        "insert into insight_status (cluster_id, attempted_at, error, critical, warning, info)
         values ($1, $2, $3, coalesce($4, 0), coalesce($5, 0), coalesce($6, 0))
         on conflict (cluster_id) do update set
             attempted_at = excluded.attempted_at, error = excluded.error,
             critical = coalesce($4, insight_status.critical),
             warning = coalesce($5, insight_status.warning),
             info = coalesce($6, insight_status.info)",
    )
    .bind(cluster_id)
    .bind(attempted_at)
    .bind(error)
    .bind(counts.map(|c| c.critical))
    .bind(counts.map(|c| c.warning))
    .bind(counts.map(|c| c.info))
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_claim_names_the_role_its_partial_index_covers() {
        assert_eq!(super::INSIGHTS_ROLE, "pgplane-monitor");
        let migration = include_str!("../../../migrations/0014_insights.sql");
        assert!(migration.contains("where role_passwords ? 'pgplane-monitor'"));
    }
}
