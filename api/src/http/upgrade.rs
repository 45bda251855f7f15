//! Upgrades. Major version: move a cluster's data to a newer PostgreSQL with `pg_upgrade`
//! (PGO's `PGUpgrade`); the cluster is down while it runs, and when it fails it starts again on
//! the old version with its data unchanged, and the operation says why. Minor version: the
//! newest image the platform approves for the cluster's major (`PGPLANE_POSTGRES_IMAGES`),
//! rolled out by PGO one instance at a time.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::{queue_action, require_running};
use super::clusters::require_platform_support;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::cluster::images::ImageCatalog;
use crate::domain::cluster::{ClusterSpec, bounds};
use crate::domain::permissions::Action;
use crate::platform::ClusterAction;

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
    let spec: ClusterSpec =
        serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)?;
    let from = spec.postgres_version;
    let catalog = &state.settings.postgres_images;
    let action = match request.postgres_version.filter(|to| *to != from) {
        Some(to) => major_upgrade(catalog, &name, from, to)?,
        None => {
            // A platform without images (the local one) says so before the catalog is asked.
            require_platform_support(
                &state,
                &ClusterAction::MinorUpgrade {
                    from_image: None,
                    to_image: String::new(),
                },
            )?;
            minor_upgrade(catalog, &name, from, row.postgres_image.as_deref())?
        }
    };
    let pinned = row.postgres_image;
    queue_action(&state, &principal, &access, &name, action, |spec, row| {
        // What was decided above must still hold under the lock.
        if spec.postgres_version != from || row.postgres_image != pinned {
            return Err(ApiError::conflict(format!(
                "cluster `{name}` changed version while the upgrade was being queued: try again"
            )));
        }
        require_running(spec, row, "an upgrade")
    })
    .await
}

fn major_upgrade(
    catalog: &ImageCatalog,
    name: &str,
    from: u32,
    to: u32,
) -> ApiResult<ClusterAction> {
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
    if to < from {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "cluster `{name}` runs PostgreSQL {from}: pg_upgrade only moves to newer versions (clone from a backup taken on {to} instead)"
            ),
        ));
    }
    let to_image = catalog.image_for(to).map(String::from);
    if to_image.is_none() && !catalog.is_empty() {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!("the platform approves no image for PostgreSQL {to} yet"),
        ));
    }
    Ok(ClusterAction::Upgrade {
        to_version: to,
        to_image,
    })
}

fn minor_upgrade(
    catalog: &ImageCatalog,
    name: &str,
    major: u32,
    pinned: Option<&str>,
) -> ApiResult<ClusterAction> {
    let Some(newest) = catalog.image_for(major) else {
        return Err(ApiError::conflict(format!(
            "the platform approves no image for PostgreSQL {major} (PGPLANE_POSTGRES_IMAGES): cluster `{name}` runs the operator's default image, whose minor version moves when the platform upgrades the operator"
        )));
    };
    if pinned == Some(newest) {
        return Err(ApiError::conflict(format!(
            "cluster `{name}` already runs {newest}, the newest image the platform approves for PostgreSQL {major}"
        )));
    }
    Ok(ClusterAction::MinorUpgrade {
        from_image: pinned.map(String::from),
        to_image: newest.to_string(),
    })
}
