//! Upgrades. Major version: move a cluster's data to a newer PostgreSQL with `pg_upgrade`
//! (PGO's `PGUpgrade`); the cluster is down while it runs, and when it fails it starts again on
//! the old version with its data unchanged, and the operation says why. Minor version: the
//! newest image the platform approves for the cluster's major (`PGPLANE_POSTGRES_IMAGES`),
//! rolled out by PGO one instance at a time.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::queued_operation;
use super::error::{ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::permissions::Action;
use crate::service::upgrade as service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upgrade))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    /// The PostgreSQL major version to move to: newer than the cluster's, at most 18. Absent
    /// (or the cluster's own major): a minor version upgrade to the newest image the platform
    /// approves for its major version.
    #[schema(example = 18, minimum = 15, maximum = 18)]
    pub postgres_version: Option<u32>,
}

/// Upgrade the cluster's PostgreSQL. To a newer major version (`postgres_version`): every
/// instance stops while `pg_upgrade` runs, then the cluster starts on the new version and takes
/// a new full backup; a failed upgrade leaves it running its old version. To the newest minor
/// version (no `postgres_version`): the instances restart one at a time on the platform's
/// newest approved image, replicas first; an image that cannot start is rolled back.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/upgrade", operation_id = "clusters.upgrade", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<UpgradeRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Not running, already on the newest approved image, no approved image, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a newer supported version", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot upgrade", body = Problem, content_type = "application/problem+json")))]
async fn upgrade(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<UpgradeRequest>>,
) -> ApiResult<Response> {
    let (access, row) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: UpgradeRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    let operation = service::upgrade(&state, &access, &row, request.postgres_version).await?;
    Ok(queued_operation(&tenant, operation))
}
