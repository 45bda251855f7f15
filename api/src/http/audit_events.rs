//! Reading the audit log: per tenant for its owners and admins, platform-wide for platform admins.
//! Newest first.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::permissions::Action;
use crate::store::{
    self,
    audit::{AuditFilter, AuditRow},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenant_audit_events))
        .routes(routes!(list_audit_events))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventOut {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_label: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    /// The API operation, e.g. `tenants.members.put`.
    pub action: String,
    pub target: String,
    pub request_id: Option<String>,
    /// `allowed`, `denied` (401/403/404) or `failed` (any other error).
    #[schema(value_type = AuditOutcome)]
    pub outcome: String,
    pub status_code: i32,
}

impl From<AuditRow> for AuditEventOut {
    fn from(row: AuditRow) -> Self {
        let AuditRow {
            id,
            occurred_at,
            actor_type,
            actor_id,
            actor_label,
            tenant_id,
            tenant_name,
            action,
            target,
            request_id,
            outcome,
            status_code,
        } = row;
        Self {
            id,
            occurred_at,
            actor_type,
            actor_id,
            actor_label,
            tenant_id,
            tenant_name,
            action,
            target,
            request_id,
            outcome,
            status_code,
        }
    }
}

list_type!(AuditEventList, AuditEventOut);

/// How an audited request ended.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// Answered 1xx-3xx.
    Allowed,
    /// Answered 401, 403 or 404.
    Denied,
    /// Any other error.
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// Filters on audit events.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Operation id, e.g. `tenants.update`.
    pub action: Option<String>,
    /// `allowed`, `denied` or `failed`.
    #[param(inline)]
    pub outcome: Option<AuditOutcome>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Tenant name: declared on the platform-wide list only (a tenant's own list refuses it).
    #[param(ignore)]
    pub tenant: Option<String>,
}

async fn list(
    state: &AppState,
    query: AuditQuery,
    tenant_id: Option<Uuid>,
) -> ApiResult<AuditEventList> {
    let page = PageQuery {
        page_size: query.page_size,
        page_token: query.page_token,
    }
    .parse()?;
    let filter = AuditFilter {
        tenant_id,
        actor_id: query.actor_id,
        action: query.action,
        outcome: query.outcome.map(|o| o.as_str().to_string()),
        since: query.since,
        until: query.until,
    };
    let rows = store::audit::list(&state.db, &filter, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, AuditEventOut::from);
    Ok(AuditEventList {
        items,
        next_page_token,
    })
}

/// The audit log of one tenant (owners and admins).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit-events", operation_id = "tenants.audit_events.list", tag = "audit",
    params(("tenant" = String, Path), AuditQuery), responses((status = 200, body = AuditEventList)))]
async fn list_tenant_audit_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditEventList>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewAudit).await?;
    if query.tenant.is_some() {
        return Err(ApiError::bad_parameter(
            "tenant",
            "is only accepted on /v1/audit-events",
        ));
    }
    Ok(Json(list(&state, query, Some(access.tenant.id)).await?))
}

/// The platform-wide audit log (platform admins); filter by `tenant` name.
#[utoipa::path(get, path = "/v1/audit-events", operation_id = "audit_events.list", tag = "audit",
    params(AuditQuery, ("tenant" = Option<String>, Query, description = "Only the events of this tenant (by name)")),
    responses((status = 200, body = AuditEventList)))]
async fn list_audit_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditEventList>> {
    principal.require_platform(Action::ViewPlatformAudit)?;
    let tenant_id = match &query.tenant {
        Some(name) => Some(
            store::tenants::find_by_name(&state.db, name)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("tenant `{name}`")))?
                .id,
        ),
        None => None,
    };
    Ok(Json(list(&state, query, tenant_id).await?))
}
