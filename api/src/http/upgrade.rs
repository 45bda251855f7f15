//! Major version upgrade: move a cluster's data to a newer PostgreSQL with `pg_upgrade` (PGO's
//! `PGUpgrade`). The cluster is down while it runs; when the upgrade fails it starts again on
//! the old version with its data unchanged, and the operation says why.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::{queue_action, require_running};
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::cluster::bounds;
use crate::domain::permissions::Action;
use crate::platform::ClusterAction;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upgrade))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    /// The PostgreSQL major version to move to: newer than the cluster's, at most 18.
    #[schema(example = 18, minimum = 15, maximum = 18)]
    pub postgres_version: u32,
}

/// Upgrade the cluster to a newer PostgreSQL major version. Every instance stops while
/// `pg_upgrade` runs; afterwards the cluster starts on the new version and takes a new full
/// backup. A failed upgrade leaves the cluster running its old version.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/upgrade", operation_id = "clusters.upgrade", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = UpgradeRequest,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a newer supported version", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot upgrade", body = Problem, content_type = "application/problem+json")))]
async fn upgrade(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<UpgradeRequest>,
) -> ApiResult<Response> {
    let access = tenant_access(&state, &principal, &tenant, Action::UpdateCluster).await?;
    let to = request.postgres_version;
    if !bounds::POSTGRES_VERSIONS.contains(&to) {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "must be a supported major version ({}-{})",
                bounds::POSTGRES_VERSIONS.start(),
                bounds::POSTGRES_VERSIONS.end()
            ),
        ));
    }
    let action = ClusterAction::Upgrade { to_version: to };
    queue_action(&state, &principal, &access, &name, action, |spec, row| {
        let from = spec.postgres_version;
        if to == from {
            return Err(ApiError::invalid_field(
                "postgres_version",
                format!("cluster `{name}` already runs PostgreSQL {from}"),
            ));
        }
        if to < from {
            return Err(ApiError::invalid_field(
                "postgres_version",
                format!(
                    "cluster `{name}` runs PostgreSQL {from}: pg_upgrade only moves to newer versions (clone from a backup taken on {to} instead)"
                ),
            ));
        }
        require_running(spec, row, "a major version upgrade")
    })
    .await
}
