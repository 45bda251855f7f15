//! Operations: what clients poll and, at the same time, the job queue workers claim.
//!
//! Life of an operation: `pending/queued` (written with the desired state, in one transaction)
//! → claimed by a worker (`running/applying`, a lease, `attempt + 1` as fencing token) →
//! `running/waiting` for the operator after a successful apply (re-applied every recheck
//! interval until the deadline) → `succeeded` when the sync sees the target generation, or
//! `failed` (with the reason) when retries or the deadline run out, or `cancelled` before it was
//! ever claimed. Every state change by a worker is fenced by the attempt it claimed, so a worker
//! whose lease expired cannot overwrite its successor's work.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::{Page, StoreResult};
use crate::domain::operation::{OperationKind, OperationState};

/// Channel workers LISTEN on; a notification means "there may be work".
pub const NOTIFY_CHANNEL: &str = "pgplane_operations";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperationRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub cluster_id: Option<Uuid>,
    pub cluster_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: OperationKind,
    #[sqlx(try_from = "String")]
    pub state: OperationState,
    pub step: String,
    pub target_generation: Option<i64>,
    pub attempt: i32,
    pub failures: i32,
    pub run_after: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub error: Option<String>,
    pub waiting_for: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Arguments of a day-2 action (see `domain::cluster::ClusterAction`); null for spec changes.
    pub params: Option<Json<serde_json::Value>>,
}

const COLUMNS: &str = "id, tenant_id, cluster_id, cluster_name, kind, state, step, target_generation, \
     attempt, failures, run_after, deadline, error, waiting_for, created_by, created_at, updated_at, \
     applied_at, finished_at, params";

pub struct NewOperation<'a> {
    pub tenant_id: Uuid,
    pub cluster_id: Uuid,
    pub cluster_name: &'a str,
    pub kind: OperationKind,
    pub target_generation: i64,
    pub previous_spec: Option<&'a serde_json::Value>,
    /// Arguments of a day-2 action.
    pub params: Option<&'a serde_json::Value>,
    pub deadline: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

/// Why an operation could not be queued.
#[derive(Debug)]
pub enum QueueError {
    /// Another operation on the cluster is still active.
    Busy(Box<OperationRow>),
    Store(super::StoreError),
}

/// Queues an operation in the caller's transaction and wakes the workers at commit.
pub async fn insert(
    tx: &mut PgConnection,
    new: &NewOperation<'_>,
) -> Result<OperationRow, QueueError> {
    sqlx::query("savepoint queue_operation")
        .execute(&mut *tx)
        .await
        .map_err(|e| QueueError::Store(e.into()))?;
    let inserted = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into operations (id, tenant_id, cluster_id, cluster_name, kind, target_generation, previous_spec,
                                 deadline, created_by, params, waiting_for)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'a worker to pick it up') returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(new.tenant_id)
    .bind(new.cluster_id)
    .bind(new.cluster_name)
    .bind(new.kind.as_str())
    .bind(new.target_generation)
    .bind(new.previous_spec.map(Json))
    .bind(new.deadline)
    .bind(new.created_by)
    .bind(new.params.map(Json))
    .fetch_one(&mut *tx)
    .await;
    match inserted {
        Ok(row) => {
            sqlx::query("select pg_notify($1, '')")
                .bind(NOTIFY_CHANNEL)
                .execute(&mut *tx)
                .await
                .map_err(|e| QueueError::Store(e.into()))?;
            Ok(row)
        }
        Err(e) => {
            let e = super::StoreError::from(e);
            if !e.is_constraint("operations_one_active_per_cluster") {
                return Err(QueueError::Store(e));
            }
            sqlx::query("rollback to savepoint queue_operation")
                .execute(&mut *tx)
                .await
                .map_err(|e| QueueError::Store(e.into()))?;
            match active_for_cluster(&mut *tx, new.cluster_id).await {
                Ok(Some(active)) => Err(QueueError::Busy(Box::new(active))),
                Ok(None) => Err(QueueError::Store(e)),
                Err(e) => Err(QueueError::Store(e)),
            }
        }
    }
}

pub async fn active_for_cluster(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
) -> StoreResult<Option<OperationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from operations where cluster_id = $1 and state in ('pending', 'running')"
    )))
    .bind(cluster_id)
    .fetch_optional(db)
    .await?)
}

/// The active operations of any of `cluster_ids` (at most one each).
pub async fn active_for_clusters(
    db: impl PgExecutor<'_>,
    cluster_ids: &[Uuid],
) -> StoreResult<Vec<OperationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from operations
         where cluster_id = any($1) and state in ('pending', 'running')"
    )))
    .bind(cluster_ids)
    .fetch_all(db)
    .await?)
}

/// An operation by id, whatever its tenant: the caller checks access to `tenant_id` next.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<Option<OperationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from operations where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Newest first, optionally for one cluster (by name, so history survives deletion) and/or one state.
pub async fn list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_name: Option<&str>,
    state: Option<OperationState>,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<OperationRow>> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from operations
         where tenant_id = $1 and ($2::text is null or cluster_name = $2) and ($3::text is null or state = $3)
           and ($4::uuid is null or id < $4)
         order by id desc limit $5"
    )))
    .bind(tenant_id)
    .bind(cluster_name)
    .bind(state.map(OperationState::as_str))
    .bind(before)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Locks an operation for cancellation; `None` when it no longer exists.
pub async fn lock(
    tx: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Option<(OperationRow, Option<serde_json::Value>)>> {
    let row: Option<OperationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from operations where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let previous: Option<Json<serde_json::Value>> =
        sqlx::query_scalar("select previous_spec from operations where id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    Ok(Some((row, previous.map(|j| j.0))))
}

/// Finishes an operation (`succeeded`, `failed`, `cancelled`) regardless of attempt: for the API
/// (cancel) and the sync (observed), which hold no lease.
pub async fn finish(
    db: impl PgExecutor<'_>,
    id: Uuid,
    state: OperationState,
    error: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "update operations set state = $2, step = 'done', error = $3, waiting_for = null, lease_owner = null,
                lease_expires_at = null, finished_at = now(), updated_at = now()
         where id = $1 and state in ('pending', 'running')",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(error)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A claimed operation: the row plus the attempt that fences this worker's writes.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub operation: OperationRow,
    pub attempt: i32,
}

/// Claims the next runnable operation: due, not leased by a live worker, and not for a cluster
/// that another worker is working on (the partial unique index allows one active operation per
/// cluster, so that holds by construction).
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease_seconds: i64,
) -> StoreResult<Option<Claimed>> {
    let row: Option<OperationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update operations set state = 'running',
                step = case when step = 'waiting' then 'waiting' else 'applying' end,
                attempt = attempt + 1, lease_owner = $1,
                lease_expires_at = now() + make_interval(secs => $2), updated_at = now()
         where id = (
             select id from operations
             where state in ('pending', 'running') and run_after <= now()
               and (lease_expires_at is null or lease_expires_at < now())
             order by run_after
             limit 1
             for update skip locked)
         returning {COLUMNS}"
    )))
    .bind(worker)
    .bind(lease_seconds as f64)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|operation| Claimed {
        attempt: operation.attempt,
        operation,
    }))
}

/// When the next operation becomes due, to sleep until then instead of polling.
pub async fn next_due(pool: &PgPool) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select min(greatest(run_after, coalesce(lease_expires_at, run_after))) from operations
         where state in ('pending', 'running')",
    )
    .fetch_one(pool)
    .await?)
}

/// Extends the lease of a claimed operation; false when the claim was lost.
pub async fn renew(pool: &PgPool, claim: &Claimed, lease_seconds: i64) -> StoreResult<bool> {
    let renewed = sqlx::query(
        "update operations set lease_expires_at = now() + make_interval(secs => $3)
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .bind(lease_seconds as f64)
    .execute(pool)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// After an apply: wait for the operator, looking again after `recheck_seconds` (capped by the
/// deadline). Resets the failure count that spaces out retries: applying worked.
pub async fn wait_for_platform(
    pool: &PgPool,
    claim: &Claimed,
    waiting_for: &str,
    recheck_seconds: i64,
) -> StoreResult<bool> {
    // A run_after moved since the claim is the status sync's nudge ([`observed_settled`]):
    // the cluster settled while this worker was busy, so the next run is due at once.
    let updated = sqlx::query(
        "update operations set step = 'waiting', waiting_for = $3, error = null, lease_owner = null,
                lease_expires_at = null, applied_at = coalesce(applied_at, now()), failures = 0,
                run_after = case when run_after > $5 then run_after
                                 else least(deadline, now() + make_interval(secs => $4)) end,
                updated_at = now()
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .bind(waiting_for)
    .bind(recheck_seconds as f64)
    .bind(claim.operation.run_after)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// The platform cannot take the operation yet but will by itself: run again after
/// `recheck_seconds`, without counting a failure (nothing was applied).
pub async fn not_yet(
    pool: &PgPool,
    claim: &Claimed,
    waiting_for: &str,
    recheck_seconds: i64,
) -> StoreResult<bool> {
    let updated = sqlx::query(
        "update operations set waiting_for = $3, lease_owner = null, lease_expires_at = null,
                run_after = least(deadline, now() + make_interval(secs => $4)), updated_at = now()
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .bind(waiting_for)
    .bind(recheck_seconds as f64)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A transient failure: try again after `delay_seconds`, keeping the error visible.
pub async fn retry_later(
    pool: &PgPool,
    claim: &Claimed,
    error: &str,
    delay_seconds: f64,
) -> StoreResult<bool> {
    let updated = sqlx::query(
        "update operations set error = $3, failures = failures + 1, lease_owner = null, lease_expires_at = null,
                run_after = least(deadline, now() + make_interval(secs => $4)), updated_at = now()
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .bind(error)
    .bind(delay_seconds)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Ends a claimed operation (fenced by its attempt).
pub async fn finish_claimed(
    db: impl PgExecutor<'_>,
    claim: &Claimed,
    state: OperationState,
    error: Option<&str>,
) -> StoreResult<bool> {
    let updated = sqlx::query(
        "update operations set state = $3, step = 'done', error = $4, waiting_for = null, lease_owner = null,
                lease_expires_at = null, finished_at = now(), updated_at = now()
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .bind(state.as_str())
    .bind(error)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Hands a claimed operation back untouched (graceful shutdown): due again at once.
pub async fn release(pool: &PgPool, claim: &Claimed) -> StoreResult<()> {
    sqlx::query(
        "update operations set lease_owner = null, lease_expires_at = null, run_after = now(), updated_at = now()
         where id = $1 and attempt = $2 and state = 'running'",
    )
    .bind(claim.operation.id)
    .bind(claim.attempt)
    .execute(pool)
    .await?;
    Ok(())
}

/// The platform observed `observed_generation` of the cluster settled: its running create or
/// update with that target is due now, whatever its step (a worker confirms what actually
/// rolled out and completes it, see `jobs::execute`). A worker busy with it keeps the nudge
/// ([`wait_for_platform`]). Returns whether one was due.
pub async fn observed_settled(
    db: &PgPool,
    cluster_id: Uuid,
    observed_generation: i64,
) -> StoreResult<bool> {
    let due = sqlx::query(
        "with due as (
             update operations set run_after = now(), updated_at = now()
             where cluster_id = $1 and kind in ('create', 'update') and state = 'running'
               and target_generation <= $2
             returning id
         )
         select pg_notify($3, '') from due",
    )
    .bind(cluster_id)
    .bind(observed_generation)
    .bind(NOTIFY_CHANNEL)
    .execute(db)
    .await?;
    Ok(due.rows_affected() > 0)
}

/// The desired spec an update replaced (for what the change needs to settle), if recorded.
pub async fn previous_spec(
    db: impl PgExecutor<'_>,
    operation_id: Uuid,
) -> StoreResult<Option<serde_json::Value>> {
    let previous: Option<Json<serde_json::Value>> =
        sqlx::query_scalar("select previous_spec from operations where id = $1")
            .bind(operation_id)
            .fetch_optional(db)
            .await?
            .flatten();
    Ok(previous.map(|j| j.0))
}

/// Records on a delete operation how many days the cluster's backups are kept once it is gone
/// (`deletion_policy: keep_backups`; see [`super::retained`]).
pub async fn set_keep_backups_days(
    db: impl PgExecutor<'_>,
    operation_id: Uuid,
    days: u32,
) -> StoreResult<()> {
    sqlx::query("update operations set keep_backups_days = $2 where id = $1")
        .bind(operation_id)
        .bind(i32::try_from(days).unwrap_or(i32::MAX))
        .execute(db)
        .await?;
    Ok(())
}

/// The active delete operation of a cluster, if any (for the sync when the cluster is gone).
pub async fn active_delete(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "select id from operations where cluster_id = $1 and kind = 'delete' and state in ('pending', 'running')",
    )
    .bind(cluster_id)
    .fetch_optional(db)
    .await?)
}
