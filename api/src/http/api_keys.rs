//! API keys: personal keys under `/v1/me/api-keys` (act as their user) and tenant service keys
//! under `/v1/tenants/{tenant}/api-keys` (hold one role in one tenant). The key itself is in the
//! create response only.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::auth::api_key;
use crate::domain::FieldError;
use crate::domain::permissions::{Action, TenantRole};
use crate::store::{
    self,
    api_keys::{ApiKeyRow, KeyOwner, NewApiKey, OwnedApiKeyRow},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_my_api_keys, create_my_api_key))
        .routes(routes!(revoke_my_api_key))
        .routes(routes!(list_tenant_api_keys, create_tenant_api_key))
        .routes(routes!(revoke_tenant_api_key))
        .routes(routes!(list_unused_api_keys))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    /// What the key is for, e.g. `terraform-ci`: 1-100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// Role of a tenant service key; not allowed on personal keys (they act as you).
    pub role: Option<TenantRole>,
    /// When the key stops working; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyKind {
    Personal,
    Tenant,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    pub kind: ApiKeyKind,
    /// The first characters of the key, to recognise it; not usable on its own.
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of the last use (the first `X-Forwarded-For` hop behind a trusted
    /// proxy).
    pub last_used_from: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ApiKeyRow> for ApiKeyOut {
    fn from(row: ApiKeyRow) -> Self {
        let ApiKeyRow {
            id,
            name,
            prefix,
            user_id,
            tenant_id,
            role,
            created_by,
            expires_at,
            last_used_at,
            last_used_from,
            revoked_at,
            created_at,
            updated_at,
        } = row;
        let kind = if tenant_id.is_some() {
            ApiKeyKind::Tenant
        } else {
            ApiKeyKind::Personal
        };
        Self {
            id,
            name,
            kind,
            prefix,
            user_id,
            tenant_id,
            role,
            created_by,
            expires_at,
            last_used_at,
            last_used_from,
            revoked_at,
            created_at,
            updated_at,
        }
    }
}

/// A key and whose it is, in the platform-wide review of unused keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnedApiKeyOut {
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The user of a personal key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// The tenant of a service key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
}

impl From<OwnedApiKeyRow> for OwnedApiKeyOut {
    fn from(row: OwnedApiKeyRow) -> Self {
        let OwnedApiKeyRow {
            key,
            user_email,
            tenant_name,
        } = row;
        Self {
            api_key: key.into(),
            user_email,
            tenant_name,
        }
    }
}

list_type!(OwnedApiKeyList, OwnedApiKeyOut);

/// Which keys the review lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnusedKeysQuery {
    /// Keys not used (or, never used, not created) in this many days: 1-3650 (default 90).
    #[param(minimum = 1, maximum = 3650, default = 90)]
    pub unused_days: Option<u32>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// A new key: its description plus the secret, shown this one time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The key. It is not stored and cannot be shown again.
    pub key: String,
}

list_type!(ApiKeyList, ApiKeyOut);

#[derive(Deserialize)]
struct KeyPath {
    id: Uuid,
}

#[derive(Deserialize)]
struct TenantKeyPath {
    tenant: String,
    id: Uuid,
}

fn validate(input: &ApiKeyIn, personal: bool) -> ApiResult<()> {
    let mut errors = Vec::new();
    // As the spec says it: at most 100 characters, at least one of them not a space.
    if input.name.trim().is_empty() || input.name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "must be 1-100 characters, not blank",
        ));
    }
    match (personal, input.role) {
        (true, Some(_)) => errors.push(FieldError::new(
            "role",
            "personal keys act as you; roles are for tenant keys",
        )),
        (false, None) => errors.push(FieldError::new("role", "is required for a tenant key")),
        _ => {}
    }
    if input.expires_at.is_some_and(|t| t <= Utc::now()) {
        errors.push(FieldError::new("expires_at", "must be in the future"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

async fn create_key(
    state: &AppState,
    input: &ApiKeyIn,
    owner: KeyOwner,
    role: Option<TenantRole>,
    created_by: Option<Uuid>,
    collection: &str,
) -> ApiResult<Response> {
    let generated = api_key::generate();
    let row = store::api_keys::create(
        &state.db,
        &NewApiKey {
            name: input.name.trim(),
            prefix: &generated.display_prefix,
            hash: &generated.hash,
            owner,
            role: role.map(TenantRole::as_str),
            created_by,
            expires_at: input.expires_at,
        },
    )
    .await?;
    let location = format!("{collection}/{}", row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ApiKeyCreatedOut {
            api_key: row.into(),
            key: generated.secret,
        }),
    )
        .into_response())
}

fn personal_owner(principal: &Principal) -> ApiResult<Uuid> {
    principal
        .user_id()
        .ok_or_else(|| ApiError::forbidden("service keys have no personal API keys"))
}

/// List your personal API keys.
#[utoipa::path(get, path = "/v1/me/api-keys", operation_id = "me.api_keys.list", tag = "api-keys",
    params(PageQuery), responses((status = 200, body = ApiKeyList)))]
async fn list_my_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<ApiKeyList>> {
    let user = personal_owner(&principal)?;
    let page = page.parse()?;
    let rows =
        store::api_keys::list(&state.db, KeyOwner::User(user), page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, ApiKeyOut::from);
    Ok(Json(ApiKeyList {
        items,
        next_page_token,
    }))
}

/// Create a personal API key; the response holds the key, once.
#[utoipa::path(post, path = "/v1/me/api-keys", operation_id = "me.api_keys.create", tag = "api-keys",
    request_body = ApiKeyIn, responses((status = 201, body = ApiKeyCreatedOut)))]
async fn create_my_api_key(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiBody<ApiKeyIn>,
) -> ApiResult<Response> {
    let user = personal_owner(&principal)?;
    let input = body.parse()?;
    validate(&input, true)?;
    create_key(
        &state,
        &input,
        KeyOwner::User(user),
        None,
        Some(user),
        "/v1/me/api-keys",
    )
    .await
}

/// Revoke one of your personal API keys.
#[utoipa::path(delete, path = "/v1/me/api-keys/{id}", operation_id = "me.api_keys.revoke", tag = "api-keys",
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_my_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<KeyPath>,
) -> ApiResult<StatusCode> {
    let user = personal_owner(&principal)?;
    if store::api_keys::revoke(&state.db, KeyOwner::User(user), path.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}

/// List the service API keys of a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/api-keys", operation_id = "tenants.api_keys.list", tag = "api-keys",
    params(("tenant" = String, Path), PageQuery), responses((status = 200, body = ApiKeyList)))]
async fn list_tenant_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<ApiKeyList>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewApiKeys).await?;
    let page = page.parse()?;
    let owner = KeyOwner::Tenant(access.tenant.id);
    let rows = store::api_keys::list(&state.db, owner, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, ApiKeyOut::from);
    Ok(Json(ApiKeyList {
        items,
        next_page_token,
    }))
}

/// Create a tenant service key (for Terraform, CI). Its role cannot exceed yours.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/api-keys", operation_id = "tenants.api_keys.create", tag = "api-keys",
    params(("tenant" = String, Path)), request_body = ApiKeyIn, responses((status = 201, body = ApiKeyCreatedOut)))]
async fn create_tenant_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    body: ApiBody<ApiKeyIn>,
) -> ApiResult<Response> {
    let access = tenant_access(&state, &principal, &tenant, Action::ManageApiKeys).await?;
    let input = body.parse()?;
    validate(&input, false)?;
    let role = input.role.unwrap_or(TenantRole::Viewer);
    if role > access.tenant_role() {
        return Err(ApiError::forbidden(
            "a key cannot hold a higher role than yours",
        ));
    }
    let collection = format!("/v1/tenants/{}/api-keys", access.tenant.name);
    create_key(
        &state,
        &input,
        KeyOwner::Tenant(access.tenant.id),
        Some(role),
        principal.user_id(),
        &collection,
    )
    .await
}

/// Revoke a tenant service key.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/api-keys/{id}", operation_id = "tenants.api_keys.revoke", tag = "api-keys",
    params(("tenant" = String, Path), ("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_tenant_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<TenantKeyPath>,
) -> ApiResult<StatusCode> {
    let access = tenant_access(&state, &principal, &path.tenant, Action::ManageApiKeys).await?;
    let owner = KeyOwner::Tenant(access.tenant.id);
    if store::api_keys::revoke(&state.db, owner, path.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}

/// Usable API keys of every user and tenant that nobody used for `unused_days` (never-used keys
/// count from their creation), the longest unused first: for platform admins revoking keys
/// nobody needs any more.
#[utoipa::path(get, path = "/v1/api-keys", operation_id = "api_keys.list_unused", tag = "api-keys",
    params(UnusedKeysQuery),
    responses((status = 200, body = OwnedApiKeyList),
        (status = 400, description = "`unused_days` missing or out of range", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a platform admin", body = Problem, content_type = "application/problem+json")))]
async fn list_unused_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<UnusedKeysQuery>,
) -> ApiResult<Json<OwnedApiKeyList>> {
    principal.require_platform(Action::ManageUsers)?;
    let days = query.unused_days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::bad_parameter(
            "unused_days",
            "must be between 1 and 3650",
        ));
    }
    let page = PageQuery {
        page_size: query.page_size,
        page_token: query.page_token,
    }
    .parse()?;
    let rows = store::api_keys::unused(&state.db, days, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.key.id, OwnedApiKeyOut::from);
    Ok(Json(OwnedApiKeyList {
        items,
        next_page_token,
    }))
}
