//! Group rules (platform admins): a group of an identity provider grants platform admin, or a
//! role in one tenant. Every sign-in through the provider applies them (`service::sso`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::principal::Principal;
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::permissions::{Action, TenantRole};
use crate::store::{
    self,
    identities::{GroupRuleRow, NewGroupRule},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_group_rules, create_group_rule))
        .routes(routes!(delete_group_rule))
}

/// A new rule: `platform_admin: true`, or a `tenant` and a `role`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRuleIn {
    /// A configured identity provider's name.
    pub provider: String,
    /// The group, as the provider's groups claim names it.
    #[schema(min_length = 1, max_length = 255)]
    pub group: String,
    #[serde(default)]
    pub platform_admin: bool,
    pub tenant: Option<String>,
    pub role: Option<TenantRole>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupRuleOut {
    pub id: Uuid,
    pub provider: String,
    pub group: String,
    pub platform_admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<GroupRuleRow> for GroupRuleOut {
    fn from(row: GroupRuleRow) -> Self {
        let GroupRuleRow {
            id,
            provider,
            group_name,
            platform_admin,
            tenant_id: _,
            tenant_name,
            role,
            created_at,
        } = row;
        Self {
            id,
            provider,
            group: group_name,
            platform_admin,
            tenant: tenant_name,
            role,
            created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupRuleList {
    pub items: Vec<GroupRuleOut>,
}

/// Every group rule.
#[utoipa::path(get, path = "/v1/group-rules", operation_id = "group_rules.list", tag = "users",
    responses((status = 200, body = GroupRuleList),
        (status = 403, description = "Not a platform admin", body = Problem, content_type = "application/problem+json")))]
async fn list_group_rules(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<GroupRuleList>> {
    principal.require_platform(Action::ManageUsers)?;
    let items = store::identities::list_rules(&state.db).await?;
    Ok(Json(GroupRuleList {
        items: items.into_iter().map(GroupRuleOut::from).collect(),
    }))
}

/// Add a rule; it applies from each member's next sign-in.
#[utoipa::path(post, path = "/v1/group-rules", operation_id = "group_rules.create", tag = "users",
    request_body = GroupRuleIn,
    responses((status = 201, body = GroupRuleOut),
        (status = 403, description = "Not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The same group already grants this", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_group_rule(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiBody<GroupRuleIn>,
) -> ApiResult<(StatusCode, Json<GroupRuleOut>)> {
    principal.require_platform(Action::ManageUsers)?;
    let input = body.parse()?;
    let tenant_id = validate(&state, &input).await?;
    let row = store::identities::create_rule(
        &state.db,
        &NewGroupRule {
            provider: &input.provider,
            group_name: input.group.trim(),
            platform_admin: input.platform_admin,
            tenant_id,
            role: input.role.map(TenantRole::as_str),
        },
    )
    .await
    .map_err(|e| {
        if e.is_constraint("group_rules_unique") {
            ApiError::conflict("a rule for this group (and tenant) exists already")
        } else {
            e.into()
        }
    })?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The checks of a new rule; the tenant it names.
async fn validate(state: &AppState, input: &GroupRuleIn) -> ApiResult<Option<Uuid>> {
    let mut errors = Vec::new();
    if state.oidc.by_name(&input.provider).is_none() {
        errors.push(FieldError::new(
            "provider",
            "is not a configured identity provider",
        ));
    }
    let group = input.group.trim();
    if group.is_empty() || group.chars().count() > 255 {
        errors.push(FieldError::new(
            "group",
            "must be 1-255 characters, not blank",
        ));
    }
    match (input.platform_admin, &input.tenant, input.role) {
        (true, None, None) | (false, Some(_), Some(_)) => {}
        (true, _, _) => errors.push(FieldError::new(
            "platform_admin",
            "a rule grants platform admin or a tenant role, not both",
        )),
        (false, None, _) => errors.push(FieldError::new(
            "tenant",
            "is required (or `platform_admin: true`)",
        )),
        (false, Some(_), None) => errors.push(FieldError::new("role", "is required with a tenant")),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let Some(tenant) = &input.tenant else {
        return Ok(None);
    };
    let found = store::tenants::find_by_name(&state.db, tenant).await?;
    let tenant =
        found.ok_or_else(|| ApiError::invalid_field("tenant", "no tenant of this name"))?;
    Ok(Some(tenant.id))
}

#[derive(Deserialize)]
struct RulePath {
    id: Uuid,
}

/// Remove a rule; what it granted is taken back at each member's next sign-in.
#[utoipa::path(delete, path = "/v1/group-rules/{id}", operation_id = "group_rules.delete", tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_group_rule(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<RulePath>,
) -> ApiResult<StatusCode> {
    principal.require_platform(Action::ManageUsers)?;
    if store::identities::delete_rule(&state.db, path.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("group rule"))
    }
}
