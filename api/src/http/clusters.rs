//! Clusters. A request never talks to the platform: create, update and delete validate, check
//! quota, and write the desired state together with the operation that will carry it out, in
//! one transaction, then answer `202 Accepted` with that operation.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::actions::queued;
use super::error::{ApiError, ApiResult, Problem};
use super::etag;
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::operations::OperationOut;
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, TenantAccess, cluster_access, tenant_access};
use crate::app::AppState;
use crate::domain::cluster::{AllowedActions, ClusterSpec, Phase, Site};
use crate::domain::permissions::Action;
use crate::service::clusters::{self as service, SpecChange};
use crate::store::{self, clusters::ClusterRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clusters, create_cluster))
        .routes(routes!(get_cluster, update_cluster, delete_cluster))
}

/// Observed state of a cluster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterStatusOut {
    pub phase: Phase,
    pub desired_instances: Option<u32>,
    pub ready_instances: Option<u32>,
    pub primary_instance: Option<String>,
    /// Generation of the desired spec (bumped by every change).
    pub generation: i64,
    /// Latest generation the platform has acted on.
    pub observed_generation: Option<i64>,
    /// Why the phase is not `ready`, when known.
    pub message: Option<String>,
    /// The approved PostgreSQL image the cluster runs (its minor version); null: the
    /// operator's default image for its major version.
    pub postgres_image: Option<String>,
    /// Where the cluster's metrics exporter serves Prometheus metrics (`monitoring.enabled`),
    /// when pgplane can reach it: the local platform's exporter; null on Kubernetes, where
    /// PGO's exporter sidecar is scraped inside the cluster.
    pub metrics_url: Option<String>,
    /// The server certificate clients verify (with the CA of `GET .../connection`), once the
    /// platform reports it. pgplane renews it when a third of its lifetime remains, without a
    /// restart; for a cluster with PGO's own certificates PGO renews it.
    pub certificate: Option<CertificateOut>,
}

/// A cluster's server certificate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateOut {
    pub expires_at: DateTime<Utc>,
    /// Why the last renewal failed; null once a renewal succeeded. While set, the certificate
    /// is past its renewal time and the platform team is alerted.
    pub renewal_error: Option<String>,
}

impl CertificateOut {
    /// From the connection facts the platform reported (`connection.certificate`).
    fn from_connection(connection: &serde_json::Value) -> Option<CertificateOut> {
        let facts: crate::domain::cluster::CertificateFacts =
            serde_json::from_value(connection.get("certificate")?.clone()).ok()?;
        Some(CertificateOut {
            expires_at: facts.expires_at,
            renewal_error: facts.renewal_error,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The desired spec with every server default filled in.
    pub spec: ClusterSpec,
    pub status: ClusterStatusOut,
    /// What the caller may do to the cluster now, and why not: its state, another operation
    /// running, the caller's role, or what the platform cannot do.
    pub allowed_actions: AllowedActions,
    /// Where the cluster runs: `home`, or `recovery` (the platform's disaster-recovery site,
    /// where standbys of home clusters are placed when it has one). Kept for life.
    pub site: Site,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

list_type!(ClusterList, ClusterOut);

/// The clusters of `rows` as the caller sees them (with what they may do to each).
async fn clusters_out(
    state: &AppState,
    access: &TenantAccess,
    rows: Vec<ClusterRow>,
) -> ApiResult<Vec<ClusterOut>> {
    let allowed = service::allowed_actions_of(state, access, &rows).await?;
    rows.into_iter()
        .zip(allowed)
        .map(|(row, allowed)| cluster_out(row, allowed))
        .collect()
}

/// One cluster with its `ETag`.
pub(super) async fn cluster_response(
    state: &AppState,
    access: &TenantAccess,
    row: ClusterRow,
) -> ApiResult<Response> {
    let out = clusters_out(state, access, vec![row]).await?.remove(0);
    Ok(([etag::header_value(&out.spec)], Json(out)).into_response())
}

/// 202 with the update operation, or 200 with the cluster when nothing changes.
pub(super) async fn spec_change_response(
    state: &AppState,
    access: &TenantAccess,
    change: SpecChange,
) -> ApiResult<Response> {
    match change {
        SpecChange::Queued(operation) => Ok(queued(&access.tenant.name, *operation)),
        SpecChange::Unchanged(row) => cluster_response(state, access, *row).await,
    }
}

fn cluster_out(row: ClusterRow, allowed_actions: AllowedActions) -> ApiResult<ClusterOut> {
    let site = row.site();
    let ClusterRow {
        id,
        tenant_id,
        name,
        spec,
        generation,
        observed_generation,
        phase,
        status,
        connection,
        created_at,
        updated_at,
        postgres_image,
        tenant_certificates: _,
        site: _,
    } = row;
    let spec: ClusterSpec = serde_json::from_value(spec.0).map_err(ApiError::internal)?;
    let field = |key: &str| status.0.get(key).cloned().unwrap_or_default();
    Ok(ClusterOut {
        id,
        tenant_id,
        name,
        spec,
        allowed_actions,
        status: ClusterStatusOut {
            phase,
            desired_instances: serde_json::from_value(field("desired_instances")).ok(),
            ready_instances: serde_json::from_value(field("ready_instances")).ok(),
            primary_instance: serde_json::from_value(field("primary_instance"))
                .ok()
                .flatten(),
            generation,
            observed_generation,
            message: serde_json::from_value(field("message")).ok().flatten(),
            postgres_image,
            metrics_url: serde_json::from_value(field("metrics_url")).ok().flatten(),
            certificate: CertificateOut::from_connection(&connection.0),
        },
        site,
        created_at,
        updated_at,
    })
}

/// List a tenant's clusters.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters", operation_id = "clusters.list", tag = "clusters",
    params(("tenant" = String, Path), PageQuery), responses((status = 200, body = ClusterList)))]
async fn list_clusters(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<ClusterList>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewClusters).await?;
    let page = page.parse()?;
    let rows = store::clusters::list(&state.db, access.tenant.id, page.after, page.limit).await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, |r| r);
    let items = clusters_out(&state, &access, items).await?;
    Ok(Json(ClusterList {
        items,
        next_page_token,
    }))
}

/// Create a cluster. Only `name` is required; every default comes back filled in. Answers 202
/// with the operation to poll.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters", operation_id = "clusters.create", tag = "clusters",
    params(("tenant" = String, Path)), request_body = crate::domain::cluster::ClusterRequest,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Name taken, quota exceeded or tenant suspended", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot run a cluster like this (e.g. no pooler on the local platform)", body = Problem, content_type = "application/problem+json")))]
async fn create_cluster(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    body: ApiBody<serde_json::Value>,
) -> ApiResult<Response> {
    let access = tenant_access(&state, &principal, &tenant, Action::CreateCluster).await?;
    let operation = service::create(&state, &access, body.parse()?).await?;
    Ok(queued(&tenant, operation))
}

/// Get a cluster: its full spec and observed status.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}", operation_id = "clusters.get", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), responses((status = 200, body = ClusterOut, headers(("ETag" = String)))))]
async fn get_cluster(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, cluster)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (access, row) =
        cluster_access(&state, &principal, &tenant, Action::ViewClusters, &cluster).await?;
    cluster_response(&state, &access, row).await
}

/// Change a cluster with a JSON merge patch of its spec (name, database, owner and the version
/// are immutable). Honours `If-Match` (the ETag covers the spec). A `null` removes a member and
/// its default applies again (RFC 7396); a `null` that would change `instances`, `resources`,
/// `storage`, `backups`, `users`, `deletion_policy` or `deletion_protection` (shrinking the
/// cluster or what protects its data) is refused with 422 naming the field unless the request
/// carries `If-Match`, which confirms the reset. Answers 202 with the operation
/// (its `restart_required` says whether PostgreSQL restarts to apply the change),
/// or 200 with the cluster when the patch changes nothing.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/clusters/{cluster}", operation_id = "clusters.update", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 202, body = OperationOut), (status = 200, body = ClusterOut),
        (status = 409, description = "Another operation is running, or quota exceeded", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
async fn update_cluster(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: ApiBody<serde_json::Value>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    // The body is read under the cluster's lock.
    let change = service::change_spec(&state, &access, &name, |current| {
        let patch = body.parse()?;
        etag::check_if_match(&headers, &etag::of(current))?;
        // With If-Match the client has read the spec it changes and confirms what a null resets.
        if !headers.contains_key(axum::http::header::IF_MATCH) {
            let resets = current.guarded_resets(&patch);
            if !resets.is_empty() {
                return Err(ApiError::validation(resets));
            }
        }
        Ok(patch)
    })
    .await?;
    spec_change_response(&state, &access, change).await
}

/// Delete a cluster. Refused at once (409) while `deletion_protection` is on or another
/// operation runs. The operation ends when the cluster is gone from the platform; its
/// `waiting_for` says what it waits for. Backups follow the cluster's `deletion_policy`.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/clusters/{cluster}", operation_id = "clusters.delete", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)),
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Deletion protection on, or another operation running", body = Problem, content_type = "application/problem+json")))]
async fn delete_cluster(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::DeleteCluster, &name).await?;
    let operation = service::delete(&state, &access, &name).await?;
    Ok(queued(&tenant, operation))
}
