//! Tenants: created and deleted by platform admins, seen by their members only.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::etag;
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::names;
use crate::domain::permissions::Action;
use crate::store::{
    self,
    tenants::{TenantRow, TenantVisibility},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantIn {
    /// DNS-1123 label; becomes the tenant's Kubernetes namespace. Immutable.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    )]
    pub name: String,
    /// Human name; defaults to `name`. Not blank.
    #[schema(min_length = 1, pattern = "\\S")]
    pub display_name: Option<String>,
}

/// Changes to a tenant; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub display_name: Option<String>,
    /// A suspended tenant cannot create clusters; existing ones keep running. Platform admins only.
    pub suspended: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantOut {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TenantRow> for TenantOut {
    fn from(row: TenantRow) -> Self {
        let TenantRow {
            id,
            name,
            display_name,
            suspended,
            created_at,
            updated_at,
        } = row;
        Self {
            id,
            name,
            display_name,
            suspended,
            created_at,
            updated_at,
        }
    }
}

list_type!(TenantList, TenantOut);

/// List the tenants you can see (all of them for platform admins).
#[utoipa::path(get, path = "/v1/tenants", operation_id = "tenants.list", tag = "tenants",
    params(PageQuery), responses((status = 200, body = TenantList)))]
async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<TenantList>> {
    let page = page.parse()?;
    let visibility = match &principal {
        p if p.is_platform_admin() => TenantVisibility::All,
        Principal::User { user_id, .. } => TenantVisibility::MemberOf(*user_id),
        Principal::ServiceKey { tenant_id, .. } => TenantVisibility::Only(*tenant_id),
    };
    let rows = store::tenants::list(&state.db, visibility, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, TenantOut::from);
    Ok(Json(TenantList {
        items,
        next_page_token,
    }))
}

/// Create a tenant (platform admins). It starts with the default quota.
#[utoipa::path(post, path = "/v1/tenants", operation_id = "tenants.create", tag = "tenants",
    request_body = TenantIn,
    responses((status = 201, body = TenantOut), (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json")))]
async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiBody<TenantIn>,
) -> ApiResult<impl IntoResponse> {
    principal.require_platform(Action::CreateTenant)?;
    let input = body.parse()?;
    let display_name = input.display_name.as_deref().unwrap_or(&input.name);
    let row = crate::service::tenants::create(&state, &input.name, display_name).await?;
    let out = TenantOut::from(row);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/tenants/{}", out.name))],
        [etag::header_value(&out)],
        Json(out),
    ))
}

/// Get a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", operation_id = "tenants.get", tag = "tenants",
    params(("tenant" = String, Path)), responses((status = 200, body = TenantOut, headers(("ETag" = String)))))]
async fn get_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewTenant).await?;
    let out = TenantOut::from(access.tenant);
    Ok(([etag::header_value(&out)], Json(out)))
}

/// Change a tenant's display name or suspend it. Honours `If-Match`.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", operation_id = "tenants.update", tag = "tenants",
    params(("tenant" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = TenantPatch,
    responses((status = 200, body = TenantOut), (status = 412, body = Problem, content_type = "application/problem+json")))]
async fn update_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    headers: HeaderMap,
    body: ApiBody<TenantPatch>,
) -> ApiResult<impl IntoResponse> {
    let access = tenant_access(&state, &principal, &tenant, Action::UpdateTenant).await?;
    let patch = body.parse()?;
    if patch.suspended.is_some() {
        access.require(Action::SuspendTenant)?;
    }
    if let Some(why) = patch
        .display_name
        .as_deref()
        .and_then(names::display_name_error)
    {
        return Err(ApiError::invalid_field("display_name", why));
    }
    let mut tx = store::begin(&state.db).await?;
    let current = store::tenants::lock(&mut *tx, access.tenant.id).await?;
    etag::check_if_match(&headers, &etag::of(&TenantOut::from(current.clone())))?;
    let display_name = patch
        .display_name
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.display_name);
    let row = store::tenants::update(
        &mut *tx,
        current.id,
        display_name,
        patch.suspended.unwrap_or(current.suspended),
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    let out = TenantOut::from(row);
    Ok(([etag::header_value(&out)], Json(out)))
}

/// Delete a tenant (platform admins). Refused while it still has clusters.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}", operation_id = "tenants.delete", tag = "tenants",
    params(("tenant" = String, Path)),
    responses((status = 204), (status = 409, description = "Tenant still has clusters, or keeps backups of deleted clusters", body = Problem, content_type = "application/problem+json")))]
async fn delete_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let access = tenant_access(&state, &principal, &tenant, Action::DeleteTenant).await?;
    let mut tx = store::begin(&state.db).await?;
    store::tenants::lock(&mut *tx, access.tenant.id).await?;
    let clusters = store::tenants::cluster_count(&mut *tx, access.tenant.id).await?;
    if clusters > 0 {
        return Err(ApiError::conflict(format!(
            "tenant `{tenant}` still has {clusters} cluster(s); delete them first"
        )));
    }
    // Backups kept after a cluster's deletion live in the tenant's namespace: deleting the
    // tenant must not drop them silently, so it waits for them (see `store::retained`).
    let retained = store::retained::of_tenant(&mut *tx, access.tenant.id).await?;
    if !retained.is_empty() {
        let kept: Vec<String> = retained.iter().map(|r| r.describe()).collect();
        return Err(ApiError::conflict(format!(
            "tenant `{tenant}` still keeps the backups of deleted clusters: {}; \
             it can be deleted once they expire",
            kept.join(", ")
        )));
    }
    store::retained::forget_expired(&mut *tx, access.tenant.id).await?;
    store::tenants::delete(&mut *tx, access.tenant.id)
        .await
        .map_err(|e| {
            if e.is_constraint("clusters_tenant_id_fkey") {
                ApiError::conflict("tenant still has clusters")
            } else {
                e.into()
            }
        })?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
