//! Tenant members. Owners and admins manage members; only owners (and platform admins) can
//! grant or take away the owner role, and the last owner cannot be removed or demoted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, TenantAccess, tenant_access};
use crate::app::AppState;
use crate::domain::permissions::{Action, TenantRole};
use crate::store::{self, memberships::MemberRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(put_member, delete_member))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    pub role: TenantRole,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberOut {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MemberRow> for MemberOut {
    fn from(row: MemberRow) -> Self {
        let MemberRow {
            user_id,
            email,
            name,
            role,
            created_at,
            updated_at,
        } = row;
        Self {
            user_id,
            email,
            name,
            role,
            created_at,
            updated_at,
        }
    }
}

list_type!(MemberList, MemberOut);

#[derive(Deserialize)]
struct MemberPath {
    tenant: String,
    /// User id or email.
    user: String,
}

/// List the members of a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/members", operation_id = "tenants.members.list", tag = "members",
    params(("tenant" = String, Path), PageQuery), responses((status = 200, body = MemberList)))]
async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<MemberList>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewMembers).await?;
    let page = page.parse()?;
    let rows =
        store::memberships::list(&state.db, access.tenant.id, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.user_id, MemberOut::from);
    Ok(Json(MemberList {
        items,
        next_page_token,
    }))
}

/// Add a user to a tenant or change their role. `{user}` is the user's id or email.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/members/{user}", operation_id = "tenants.members.put", tag = "members",
    params(("tenant" = String, Path), ("user" = String, Path, description = "User id or email")),
    request_body = MemberIn,
    responses((status = 200, body = MemberOut), (status = 201, body = MemberOut),
        (status = 409, description = "Would leave the tenant without an owner", body = Problem, content_type = "application/problem+json")))]
async fn put_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<MemberPath>,
    body: ApiBody<MemberIn>,
) -> ApiResult<impl IntoResponse> {
    let access = tenant_access(&state, &principal, &path.tenant, Action::ManageMembers).await?;
    let user = store::users::find_by_id_or_email(&state.db, &path.user)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user `{}`", path.user)))?;
    let input = body.parse()?;
    let mut tx = store::begin(&state.db).await?;
    let owners = store::memberships::lock_owners(&mut *tx, access.tenant.id).await?;
    let was_owner = owners.contains(&user.id);
    require_owner_rights(&access, was_owner || input.role == TenantRole::Owner)?;
    if was_owner && input.role != TenantRole::Owner && owners.len() == 1 {
        return Err(ApiError::conflict(
            "this is the tenant's last owner; make someone else owner first",
        ));
    }
    let created =
        store::memberships::upsert(&mut *tx, access.tenant.id, user.id, input.role).await?;
    let row = store::memberships::find(&mut *tx, access.tenant.id, user.id)
        .await?
        .ok_or(store::StoreError::NotFound)?;
    tx.commit().await.map_err(store::StoreError::from)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(MemberOut::from(row))))
}

/// Remove a user from a tenant.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/members/{user}", operation_id = "tenants.members.delete", tag = "members",
    params(("tenant" = String, Path), ("user" = String, Path, description = "User id or email")),
    responses((status = 204), (status = 409, description = "Last owner", body = Problem, content_type = "application/problem+json")))]
async fn delete_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<MemberPath>,
) -> ApiResult<StatusCode> {
    let access = tenant_access(&state, &principal, &path.tenant, Action::ManageMembers).await?;
    let not_member = || ApiError::not_found(format!("member `{}`", path.user));
    let user = store::users::find_by_id_or_email(&state.db, &path.user)
        .await?
        .ok_or_else(not_member)?;
    let mut tx = store::begin(&state.db).await?;
    let owners = store::memberships::lock_owners(&mut *tx, access.tenant.id).await?;
    let is_owner = owners.contains(&user.id);
    require_owner_rights(&access, is_owner)?;
    if is_owner && owners.len() == 1 {
        return Err(ApiError::conflict(
            "this is the tenant's last owner; make someone else owner first",
        ));
    }
    if !store::memberships::delete(&mut *tx, access.tenant.id, user.id).await? {
        return Err(not_member());
    }
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_owner_rights(access: &TenantAccess, touches_owner: bool) -> ApiResult<()> {
    if touches_owner {
        access.require(Action::ManageOwners)
    } else {
        Ok(())
    }
}
