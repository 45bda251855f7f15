//! Tenant quotas: platform admins set the limits; every member can read them with current usage.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Problem};
use super::etag;
use super::extract::{ApiBody, ApiPath};
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::permissions::Action;
use crate::domain::quota::{self, QuotaLimits, ResourceUsage};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_quota, put_quota))
}

/// New limits; all five are required.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaIn {
    pub max_clusters: i32,
    pub max_instances: i32,
    pub max_cpu_millis: i64,
    pub max_memory_mib: i64,
    pub max_storage_gib: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaOut {
    pub max_clusters: i32,
    pub max_instances: i32,
    /// CPU over all instances, in millicores.
    pub max_cpu_millis: i64,
    /// Memory over all instances, in MiB.
    pub max_memory_mib: i64,
    /// Storage over all instances, in GiB.
    pub max_storage_gib: i64,
    /// What the tenant's clusters ask for now, in the same units.
    pub usage: ResourceUsage,
    pub updated_at: DateTime<Utc>,
}

fn quota_out(limits: QuotaLimits, usage: ResourceUsage, updated_at: DateTime<Utc>) -> QuotaOut {
    let QuotaLimits {
        max_clusters,
        max_instances,
        max_cpu_millis,
        max_memory_mib,
        max_storage_gib,
    } = limits;
    QuotaOut {
        max_clusters,
        max_instances,
        max_cpu_millis,
        max_memory_mib,
        max_storage_gib,
        usage,
        updated_at,
    }
}

/// A tenant's limits and current usage.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/quota", operation_id = "tenants.quota.get", tag = "quotas",
    params(("tenant" = String, Path)), responses((status = 200, body = QuotaOut, headers(("ETag" = String)))))]
async fn get_quota(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewQuota).await?;
    let (limits, updated_at) = store::quotas::get(&state.db, access.tenant.id).await?;
    let usage = store::quotas::usage(&state.db, access.tenant.id).await?;
    let out = quota_out(limits, usage, updated_at);
    Ok(([etag::header_value(&out)], Json(out)))
}

/// Set a tenant's limits (platform admins). Lowering a limit below current usage is allowed:
/// nothing is removed, but nothing may grow until usage is back under it. Honours `If-Match`.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/quota", operation_id = "tenants.quota.put", tag = "quotas",
    params(("tenant" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = QuotaIn,
    responses((status = 200, body = QuotaOut), (status = 412, body = Problem, content_type = "application/problem+json")))]
async fn put_quota(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    headers: HeaderMap,
    body: ApiBody<QuotaIn>,
) -> ApiResult<impl IntoResponse> {
    let access = tenant_access(&state, &principal, &tenant, Action::SetQuota).await?;
    let input = body.parse()?;
    let QuotaIn {
        max_clusters,
        max_instances,
        max_cpu_millis,
        max_memory_mib,
        max_storage_gib,
    } = input;
    let limits = QuotaLimits {
        max_clusters,
        max_instances,
        max_cpu_millis,
        max_memory_mib,
        max_storage_gib,
    };
    let errors = quota::limits_errors(&limits);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut tx = store::begin(&state.db).await?;
    let (current, updated_at) = store::quotas::get(&mut *tx, access.tenant.id).await?;
    let usage = store::quotas::usage(&mut *tx, access.tenant.id).await?;
    etag::check_if_match(&headers, &etag::of(&quota_out(current, usage, updated_at)))?;
    let (limits, updated_at) = store::quotas::set(&mut *tx, access.tenant.id, &limits).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    let out = quota_out(limits, usage, updated_at);
    Ok(([etag::header_value(&out)], Json(out)))
}
