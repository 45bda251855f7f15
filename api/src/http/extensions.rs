//! Extensions of a cluster's databases: list what is installed (read from the running primary)
//! and enable or disable an allow-listed extension (an `extension` operation, one database at
//! a time). Only the allow-list in `domain::cluster::extensions` can be enabled: what an
//! extension may do inside the database is the platform team's call, not the tenant's.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::actions::queued_operation;
use super::error::{ApiResult, Problem};
use super::extract::ApiPath;
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::cluster::InstalledExtension;
use crate::domain::cluster::extensions::{ALLOWED_EXTENSIONS, AllowedExtension};
use crate::domain::permissions::Action;
use crate::service::extensions as service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_extensions))
        .routes(routes!(enable_extension, disable_extension))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExtensionList {
    /// Installed in the database now, by name (`plpgsql` is in every database).
    pub items: Vec<InstalledExtension>,
    /// What a tenant may enable.
    pub allowed: Vec<AllowedExtension>,
}

/// List the extensions installed in one database of the cluster, with the allow-list. Read
/// live from the running primary.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions", operation_id = "clusters.extensions.list", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("database" = String, Path)),
    responses((status = 200, body = ExtensionList),
        (status = 409, description = "The cluster is not running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "This process's platform cannot look inside clusters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The primary could not be reached; try again", body = Problem, content_type = "application/problem+json")))]
async fn list_extensions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name, database)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<ExtensionList>> {
    let (_, row) = cluster_access(&state, &principal, &tenant, Action::ViewClusters, &name).await?;
    Ok(Json(ExtensionList {
        items: service::installed(&state, &row, &database).await?,
        allowed: ALLOWED_EXTENSIONS.to_vec(),
    }))
}

/// Enables or disables `extension` in `database` of `cluster`.
async fn queue_extension(
    state: &AppState,
    principal: &Principal,
    (tenant, cluster, database, extension): (String, String, String, String),
    enable: bool,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(state, principal, &tenant, Action::UpdateCluster, &cluster).await?;
    let operation =
        service::set_enabled(state, &access, &cluster, database, extension, enable).await?;
    Ok(queued_operation(&tenant, operation))
}

/// Enable an allow-listed extension in a database (`CREATE EXTENSION IF NOT EXISTS`). The
/// operation fails with PostgreSQL's reason when the image does not carry the extension.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}", operation_id = "clusters.extensions.enable", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("database" = String, Path), ("extension" = String, Path)),
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an allow-listed extension", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot manage extensions", body = Problem, content_type = "application/problem+json")))]
async fn enable_extension(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<(String, String, String, String)>,
) -> ApiResult<Response> {
    queue_extension(&state, &principal, path, true).await
}

/// Disable an extension in a database (`DROP EXTENSION IF EXISTS`, never `CASCADE`: the
/// operation fails naming what still depends on it).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}", operation_id = "clusters.extensions.disable", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("database" = String, Path), ("extension" = String, Path)),
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an allow-listed extension", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot manage extensions", body = Problem, content_type = "application/problem+json")))]
async fn disable_extension(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<(String, String, String, String)>,
) -> ApiResult<Response> {
    queue_extension(&state, &principal, path, false).await
}
