//! Backups pgplane knows of (see `migrations/0004_backups.sql`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::cluster::{BackupFacts, BackupType};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackupRow {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub operation_id: Option<Uuid>,
    pub origin: String,
    #[sqlx(rename = "type")]
    pub backup_type: String,
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// A backup report; a second report of the same platform reference updates the first.
pub struct NewBackup<'a> {
    pub tenant_id: Uuid,
    pub cluster_id: Uuid,
    pub operation_id: Option<Uuid>,
    pub platform_ref: &'a str,
    pub origin: &'a str,
    pub backup_type: BackupType,
    pub state: &'a str,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<&'a str>,
}

pub async fn upsert(db: impl PgExecutor<'_>, new: &NewBackup<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into backups (id, tenant_id, cluster_id, operation_id, platform_ref, origin, type, state,
                              started_at, finished_at, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (cluster_id, platform_ref) do update
            set state = excluded.state, started_at = coalesce(backups.started_at, excluded.started_at),
                finished_at = coalesce(backups.finished_at, excluded.finished_at), error = excluded.error",
    )
    .bind(Uuid::now_v7())
    .bind(new.tenant_id)
    .bind(new.cluster_id)
    .bind(new.operation_id)
    .bind(new.platform_ref)
    .bind(new.origin)
    .bind(new.backup_type.as_str())
    .bind(new.state)
    .bind(new.started_at)
    .bind(new.finished_at)
    .bind(new.error)
    .execute(db)
    .await?;
    Ok(())
}

/// The backup an operation took.
pub async fn record_succeeded(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
    operation_id: Uuid,
    backup: &BackupFacts,
) -> StoreResult<()> {
    upsert(
        db,
        &NewBackup {
            tenant_id,
            cluster_id,
            operation_id: Some(operation_id),
            platform_ref: &operation_id.to_string(),
            origin: "manual",
            backup_type: backup.backup_type,
            state: "succeeded",
            started_at: backup.started_at,
            finished_at: backup.finished_at.or_else(|| Some(Utc::now())),
            error: None,
        },
    )
    .await
}

/// The backup an operation failed to take, with the platform's reason.
pub async fn record_failed(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
    operation_id: Uuid,
    backup_type: BackupType,
    reason: &str,
) -> StoreResult<()> {
    upsert(
        db,
        &NewBackup {
            tenant_id,
            cluster_id,
            operation_id: Some(operation_id),
            platform_ref: &operation_id.to_string(),
            origin: "manual",
            backup_type,
            state: "failed",
            started_at: None,
            finished_at: Some(Utc::now()),
            error: Some(reason),
        },
    )
    .await
}

/// Whether a full backup of the cluster succeeded (restore and clone need one).
pub async fn has_successful_full(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from backups
                        where cluster_id = $1 and state = 'succeeded' and type = 'full')",
    )
    .bind(cluster_id)
    .fetch_one(db)
    .await?)
}

/// Of `cluster_ids`, those with a successful full backup.
pub async fn with_successful_full(
    db: impl PgExecutor<'_>,
    cluster_ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "select distinct cluster_id from backups
         where cluster_id = any($1) and state = 'succeeded' and type = 'full'",
    )
    .bind(cluster_ids)
    .fetch_all(db)
    .await?)
}

/// A cluster's backups, newest first (at most `limit`).
pub async fn list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
    limit: i64,
) -> StoreResult<Vec<BackupRow>> {
    Ok(sqlx::query_as(
        "select id, cluster_id, operation_id, origin, type, state, started_at, finished_at, error
         from backups where tenant_id = $1 and cluster_id = $2
         order by coalesce(finished_at, started_at, created_at) desc, id desc limit $3",
    )
    .bind(tenant_id)
    .bind(cluster_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Finish times of the cluster's successful full backups, newest first.
pub async fn successful_fulls(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
) -> StoreResult<Vec<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "select finished_at from backups
         where tenant_id = $1 and cluster_id = $2 and state = 'succeeded' and type = 'full'
           and finished_at is not null
         order by finished_at desc",
    )
    .bind(tenant_id)
    .bind(cluster_id)
    .fetch_all(db)
    .await?)
}
