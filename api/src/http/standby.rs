//! Promotion of a standby cluster (see `service::standby` for how standbys are created with
//! `standby: {source}` in a create request and what a promotion does).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::accepted;
use super::error::{ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::permissions::Action;
use crate::service::standby as service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(promote))
}

/// The body of a promotion (nothing to choose yet).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {}

/// Promote a standby: it stops following its source and becomes a writable primary, with the
/// backups its spec asks for. The answer's `warning` says what becomes of the old primary,
/// which pgplane does not stop.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/promote", operation_id = "clusters.promote", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<PromoteRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Not a standby, not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot run standbys", body = Problem, content_type = "application/problem+json")))]
async fn promote(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<PromoteRequest>>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let _: Option<PromoteRequest> = body.map(ApiBody::parse).transpose()?;
    let (operation, warning) = service::promote(&state, &access, &name).await?;
    let mut out = OperationOut::from(operation);
    out.warning = warning;
    Ok(accepted(&tenant, out))
}
