//! A cluster's insights over a window, from the snapshots the collector stored: the top
//! statements (differences between the window's oldest and newest snapshots), the findings,
//! the storage forecast, and connections and cache hits as of the newest snapshot.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::domain::cluster::{ClusterSpec, parse_bytes};
use crate::domain::insights::forecast::{StoragePoint, storage_forecast};
use crate::domain::insights::snapshot::Connections;
use crate::domain::insights::{
    ClusterFacts, Evidence, Finding, Forecast, Snapshot, StatementOrder, StatementStats, Taken,
    Thresholds, findings, top_statements,
};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, clusters::ClusterRow, insights::SnapshotRow};

/// Everything the insights of one window say.
#[derive(Debug)]
pub struct InsightsView {
    /// The window's first and last successful snapshots.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The newest collection, successful or not, and why it failed.
    pub last_attempt: Option<(DateTime<Utc>, Option<String>)>,
    pub statements: Vec<StatementStats>,
    pub findings: Vec<Finding>,
    pub storage: Option<Forecast>,
    pub connections: Option<(Connections, i64)>,
    pub cache_hit_ratio: Option<f64>,
}

fn taken(row: SnapshotRow) -> ApiResult<Taken> {
    let data = row
        .data
        .ok_or_else(|| ApiError::internal("a failed snapshot in the window"))?;
    let snapshot: Snapshot = serde_json::from_value(data.0).map_err(ApiError::internal)?;
    Ok(Taken {
        taken_at: row.taken_at,
        snapshot,
    })
}

/// What the findings need of the cluster's spec.
fn facts(spec: &serde_json::Value) -> ApiResult<ClusterFacts> {
    let spec: ClusterSpec = serde_json::from_value(spec.clone()).map_err(ApiError::internal)?;
    let bytes = |q: &str| {
        parse_bytes(q)
            .map(|b| i64::try_from(b).unwrap_or(i64::MAX))
            .unwrap_or(0)
    };
    let facts = ClusterFacts {
        storage_bytes: bytes(&spec.storage.size),
        memory_bytes: bytes(&spec.resources.memory),
        pooler_enabled: spec.pooler.enabled,
    };
    Ok(facts)
}

/// The share of block reads the databases found in shared buffers over the window.
fn cache_hit_ratio(oldest: &Snapshot, newest: &Snapshot) -> Option<f64> {
    let sum = |s: &Snapshot| {
        s.databases.iter().fold((0_i64, 0_i64), |(r, h), d| {
            (r + d.blocks_read, h + d.blocks_hit)
        })
    };
    let ((r0, h0), (r1, h1)) = (sum(oldest), sum(newest));
    let (read, hit) = if r1 >= r0 && h1 >= h0 && (r1 - r0 + h1 - h0) > 0 {
        (r1 - r0, h1 - h0)
    } else {
        (r1, h1)
    };
    (read + hit > 0).then(|| hit as f64 / (read + hit) as f64)
}

/// The insights of `row` over the `window` ending now, statements ranked by `order`.
pub async fn insights(
    state: &AppState,
    row: &ClusterRow,
    window: Duration,
    order: StatementOrder,
) -> ApiResult<InsightsView> {
    let unused_after = state.settings.unused_index_after;
    evaluate(&state.db, row.id, &row.spec.0, window, unused_after, order).await
}

/// The insights of cluster `cluster_id` (with `spec`) over the `window` ending now: what the
/// API answers, and what the collector counts for `/metrics` after each snapshot.
pub async fn evaluate(
    db: &sqlx::PgPool,
    cluster_id: uuid::Uuid,
    spec: &serde_json::Value,
    window: Duration,
    unused_index_after: Duration,
    order: StatementOrder,
) -> ApiResult<InsightsView> {
    let since = chrono::Duration::from_std(window)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let last_attempt = store::insights::newest(db, cluster_id)
        .await?
        .map(|r| (r.taken_at, r.error));
    let mut view = InsightsView {
        from: None,
        to: None,
        last_attempt,
        statements: Vec::new(),
        findings: Vec::new(),
        storage: None,
        connections: None,
        cache_hit_ratio: None,
    };
    let Some((oldest, newest)) = store::insights::window(db, cluster_id, since).await? else {
        return Ok(view);
    };
    let (oldest, newest) = (taken(oldest)?, taken(newest)?);
    let cluster = facts(spec)?;
    let points = store::insights::storage_points(db, cluster_id, since).await?;
    let points = points
        .into_iter()
        .map(|(taken_at, bytes)| StoragePoint { taken_at, bytes })
        .collect();
    let thresholds = Thresholds {
        unused_index_after,
        ..Thresholds::default()
    };
    view.storage = storage_forecast(points, cluster.storage_bytes);
    let unused_since = chrono::Duration::from_std(thresholds.unused_index_after)
        .ok()
        .and_then(|d| newest.taken_at.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let unused_since = store::insights::at_or_before(db, cluster_id, unused_since)
        .await?
        .map(taken)
        .transpose()?;
    let evidence = Evidence {
        oldest: &oldest,
        newest: &newest,
        unused_since: unused_since.as_ref(),
        forecast: view.storage.as_ref(),
    };
    view.findings = findings(&evidence, &cluster, &thresholds);
    view.statements = top_statements(&oldest, &newest, order);
    view.cache_hit_ratio = cache_hit_ratio(&oldest.snapshot, &newest.snapshot);
    view.connections = Some((
        newest.snapshot.connections.clone(),
        newest.snapshot.server.max_connections,
    ));
    view.from = Some(oldest.taken_at);
    view.to = Some(newest.taken_at);
    Ok(view)
}
