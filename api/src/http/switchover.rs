//! Switchover: make a named replica (or the best one) the primary, e.g. before maintenance of
//! the primary's node. Clients reconnect; the old primary becomes a replica.

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
use crate::domain::names;
use crate::domain::permissions::Action;
use crate::service::actions::{self, Day2};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(switchover))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchoverRequest {
    /// The instance to promote (on Kubernetes the instance StatefulSet's name, e.g.
    /// `orders-instance1-abcd`); absent: the operator picks the healthiest replica.
    pub target_instance: Option<String>,
}

/// Switch the primary over to a replica. Refused for single-instance clusters.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/switchover", operation_id = "clusters.switchover", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<SwitchoverRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "A single instance, not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot switch over", body = Problem, content_type = "application/problem+json")))]
async fn switchover(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<SwitchoverRequest>>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: SwitchoverRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    if let Some(instance) = &request.target_instance
        && let Some(why) = names::dns1123_label_error(instance)
    {
        return Err(ApiError::invalid_field("target_instance", why));
    }
    let action = ClusterAction::Switchover {
        target_instance: request.target_instance,
    };
    let operation =
        actions::queue(&state, &access, Day2::new(&name, action), |_, _| Ok(())).await?;
    Ok(queued_operation(&tenant, operation))
}
