//! Audit events: append-only records of every mutation, allowed or refused.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Page, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_label: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub action: String,
    pub target: String,
    pub request_id: Option<String>,
    pub outcome: String,
    pub status_code: i32,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub actor_type: &'static str,
    pub actor_id: Option<Uuid>,
    pub actor_label: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub action: String,
    pub target: String,
    pub request_id: Option<String>,
    pub outcome: &'static str,
    pub status_code: i32,
}

pub async fn record(pool: &PgPool, event: &NewAuditEvent) -> StoreResult<()> {
    sqlx::query(
        "insert into audit_events (id, actor_type, actor_id, actor_label, tenant_id, tenant_name,
                                   action, target, request_id, outcome, status_code)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Uuid::now_v7())
    .bind(event.actor_type)
    .bind(event.actor_id)
    .bind(&event.actor_label)
    .bind(event.tenant_id)
    .bind(&event.tenant_name)
    .bind(&event.action)
    .bind(&event.target)
    .bind(&event.request_id)
    .bind(event.outcome)
    .bind(event.status_code)
    .execute(pool)
    .await?;
    Ok(())
}

/// Filters for listing events; `tenant_id` is mandatory on tenant-scoped paths.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first: a page continues with events older than `before`.
pub async fn list(
    pool: &PgPool,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<AuditRow>> {
    let rows = sqlx::query_as(
        "select id, occurred_at, actor_type, actor_id, actor_label, tenant_id, tenant_name, action,
                target, request_id, outcome, status_code
         from audit_events
         where ($1::uuid is null or tenant_id = $1)
           and ($2::uuid is null or actor_id = $2)
           and ($3::text is null or action = $3)
           and ($4::text is null or outcome = $4)
           and ($5::timestamptz is null or occurred_at >= $5)
           and ($6::timestamptz is null or occurred_at < $6)
           and ($7::uuid is null or id < $7)
         order by id desc limit $8",
    )
    .bind(filter.tenant_id)
    .bind(filter.actor_id)
    .bind(&filter.action)
    .bind(&filter.outcome)
    .bind(filter.since)
    .bind(filter.until)
    .bind(before)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}
