//! Credentials of a cluster's roles: rotating a password is a day-2 action (an operation the
//! platform carries out); the old password stops working when the operation succeeds, and the
//! owner's new one is what `GET .../connection?reveal=true` returns from then on.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::queued_operation;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::cluster::ClusterAction;
use crate::domain::permissions::Action;
use crate::service::actions::{self, Day2};
use crate::service::spec_of;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rotate_password))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotatePasswordRequest {
    /// The role whose password changes: the owner (default) or one of `spec.users`.
    pub user: Option<String>,
}

/// Rotate a role's password. Answers 202 with the operation; when it succeeds the old password
/// no longer works and the new one is readable with `GET .../connection?reveal=true` (with
/// `&role=<user>` for a role other than the owner).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/rotate-password", operation_id = "clusters.rotate_password", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<RotatePasswordRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Another operation is running, or the cluster is not running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot rotate passwords", body = Problem, content_type = "application/problem+json")))]
async fn rotate_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<RotatePasswordRequest>>,
) -> ApiResult<Response> {
    let (access, row) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: RotatePasswordRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    let spec = spec_of(&row)?;
    let user = request.user.unwrap_or_else(|| spec.owner.clone());
    if user != spec.owner && !spec.users.iter().any(|u| u.name == user) {
        return Err(ApiError::invalid_field(
            "user",
            format!(
                "cluster `{name}` has no user `{user}` (its owner is `{}`)",
                spec.owner
            ),
        ));
    }
    let day2 = Day2::new(&name, ClusterAction::RotatePassword { user });
    let operation = actions::queue(&state, &access, day2, |_, _| Ok(())).await?;
    Ok(queued_operation(&tenant, operation))
}
