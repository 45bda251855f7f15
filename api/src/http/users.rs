//! Users, managed by platform admins. The last active platform admin cannot be demoted,
//! disabled or deleted, so the platform can never lock itself out.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::etag;
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::Principal;
use crate::app::AppState;
use crate::domain::permissions::Action;
use crate::service::users as service;
use crate::store::{self, users::UserRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub is_platform_admin: bool,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub password: Option<String>,
    pub is_platform_admin: Option<bool>,
    /// A disabled user cannot log in, and their tokens and keys stop working.
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_platform_admin: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRow> for UserOut {
    fn from(row: UserRow) -> Self {
        let UserRow {
            id,
            email,
            name,
            is_platform_admin,
            disabled,
            created_at,
            updated_at,
        } = row;
        Self {
            id,
            email,
            name,
            is_platform_admin,
            disabled,
            created_at,
            updated_at,
        }
    }
}

list_type!(UserList, UserOut);

fn not_found(user: &str) -> ApiError {
    ApiError::not_found(format!("user `{user}`"))
}

/// List users (platform admins).
#[utoipa::path(get, path = "/v1/users", operation_id = "users.list", tag = "users",
    params(PageQuery), responses((status = 200, body = UserList)))]
async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserList>> {
    principal.require_platform(Action::ManageUsers)?;
    let page = page.parse()?;
    let rows = store::users::list(&state.db, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, UserOut::from);
    Ok(Json(UserList {
        items,
        next_page_token,
    }))
}

/// Create a user (platform admins).
#[utoipa::path(post, path = "/v1/users", operation_id = "users.create", tag = "users",
    request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 409, description = "Email taken", body = Problem, content_type = "application/problem+json")))]
async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiBody<UserIn>,
) -> ApiResult<impl IntoResponse> {
    principal.require_platform(Action::ManageUsers)?;
    let input = body.parse()?;
    let new = service::NewUserIn {
        email: &input.email,
        name: &input.name,
        password: &input.password,
        is_platform_admin: input.is_platform_admin,
    };
    let row = service::create(&state, new).await?;
    let out = UserOut::from(row);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/users/{}", out.id))],
        Json(out),
    ))
}

/// Get a user by id or email (platform admins).
#[utoipa::path(get, path = "/v1/users/{user}", operation_id = "users.get", tag = "users",
    params(("user" = String, Path, description = "User id or email")), responses((status = 200, body = UserOut)))]
async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    principal.require_platform(Action::ManageUsers)?;
    let row = store::users::find_by_id_or_email(&state.db, &user)
        .await?
        .ok_or_else(|| not_found(&user))?;
    let out = UserOut::from(row);
    Ok(([etag::header_value(&out)], Json(out)))
}

/// Change a user (platform admins). Honours `If-Match`.
#[utoipa::path(patch, path = "/v1/users/{user}", operation_id = "users.update", tag = "users",
    params(("user" = String, Path, description = "User id or email"), ("If-Match" = Option<String>, Header)),
    request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 409, description = "Last platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(user): ApiPath<String>,
    headers: axum::http::HeaderMap,
    body: ApiBody<UserPatch>,
) -> ApiResult<impl IntoResponse> {
    principal.require_platform(Action::ManageUsers)?;
    let patch = body.parse()?;
    let edit = service::UserEdit {
        name: patch.name.as_deref(),
        password: patch.password.as_deref(),
        is_platform_admin: patch.is_platform_admin,
        disabled: patch.disabled,
    };
    let row = service::update(&state, &user, edit, |current| {
        etag::check_if_match(&headers, &etag::of(&UserOut::from(current.clone())))
    })
    .await?;
    let out = UserOut::from(row);
    Ok(([etag::header_value(&out)], Json(out)))
}

/// Delete a user (platform admins). Their memberships and personal keys go with them.
#[utoipa::path(delete, path = "/v1/users/{user}", operation_id = "users.delete", tag = "users",
    params(("user" = String, Path, description = "User id or email")),
    responses((status = 204), (status = 409, description = "Last platform admin", body = Problem, content_type = "application/problem+json")))]
async fn delete_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<StatusCode> {
    principal.require_platform(Action::ManageUsers)?;
    let current = store::users::find_by_id_or_email(&state.db, &user)
        .await?
        .ok_or_else(|| not_found(&user))?;
    let mut tx = store::begin(&state.db).await?;
    let admins = store::users::lock_active_admins(&mut *tx).await?;
    if current.is_platform_admin && !current.disabled && admins <= 1 {
        return Err(ApiError::conflict("this is the last active platform admin"));
    }
    store::users::delete(&mut *tx, current.id).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    state.users.forget(current.id);
    Ok(StatusCode::NO_CONTENT)
}
