//! `GET /v1/me`: who the caller is and which tenants they can act in.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::ApiResult;
use super::principal::Principal;
use super::users::UserOut;
use crate::app::AppState;
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_me))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantRoleOut {
    pub tenant_id: Uuid,
    pub tenant: String,
    pub role: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ServiceKey,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeOut {
    pub kind: PrincipalKind,
    /// The person, when the caller is a user (by token or personal key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserOut>,
    /// The API key used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<Uuid>,
    /// Tenants the caller holds a role in (platform admins can act in every tenant).
    pub tenants: Vec<TenantRoleOut>,
}

/// Describe the authenticated caller.
#[utoipa::path(get, path = "/v1/me", operation_id = "me.get", tag = "me", responses((status = 200, body = MeOut)))]
async fn get_me(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<MeOut>> {
    Ok(Json(match principal {
        Principal::User {
            user_id,
            api_key_id,
            ..
        } => user_me(&state, user_id, api_key_id).await?,
        Principal::ServiceKey {
            key_id,
            tenant_id,
            role,
        } => MeOut {
            kind: PrincipalKind::ServiceKey,
            user: None,
            api_key_id: Some(key_id),
            tenants: vec![TenantRoleOut {
                tenant_id,
                tenant: store::tenants::get(&state.db, tenant_id).await?.name,
                role: role.as_str().into(),
            }],
        },
    }))
}

/// A person: their account and the tenants they belong to.
async fn user_me(state: &AppState, user_id: Uuid, api_key_id: Option<Uuid>) -> ApiResult<MeOut> {
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or(store::StoreError::NotFound)?;
    let tenants = store::memberships::tenants_of(&state.db, user_id).await?;
    Ok(MeOut {
        kind: PrincipalKind::User,
        user: Some(user.into()),
        api_key_id,
        tenants: tenants
            .into_iter()
            .map(|t| TenantRoleOut {
                tenant_id: t.tenant_id,
                tenant: t.tenant_name,
                role: t.role,
            })
            .collect(),
    })
}
