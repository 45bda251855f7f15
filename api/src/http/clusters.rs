//! Clusters. A request never talks to the platform: create, update and delete validate, check
//! quota, and write the desired state together with the operation that will carry it out, in
//! one transaction, then answer `202 Accepted` with that operation.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::etag;
use super::extract::{ApiBody, ApiPath, ApiQuery};
use super::operations::OperationOut;
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, TenantAccess, cluster_access, tenant_access};
use super::standby;
use crate::app::AppState;
use crate::domain::cluster::{ClusterSource, ClusterSpec, DeletionPolicy, Site, restart_required};
use crate::domain::permissions::Action;
use crate::domain::quota::{ExceededLimit, ResourceUsage};
use crate::platform::ClusterAction;
use crate::store::{
    self,
    clusters::ClusterRow,
    operations::{NewOperation, QueueError},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clusters, create_cluster))
        .routes(routes!(get_cluster, update_cluster, delete_cluster))
}

/// Observed state of a cluster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterStatusOut {
    /// `pending`, `provisioning`, `ready`, `updating`, `degraded`, `suspended`, `deleting` or `failed`.
    pub phase: String,
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
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The desired spec with every server default filled in.
    pub spec: ClusterSpec,
    pub status: ClusterStatusOut,
    /// Where the cluster runs: `home`, or `recovery` (the platform's disaster-recovery site,
    /// where standbys of home clusters are placed when it has one). Kept for life.
    pub site: Site,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

list_type!(ClusterList, ClusterOut);

fn cluster_out(row: ClusterRow) -> ApiResult<ClusterOut> {
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
        connection: _,
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
        },
        site,
        created_at,
        updated_at,
    })
}

/// 501 when this process's platform cannot run a cluster like `spec` (e.g. a pooler on the
/// local platform): better refused now than failed later.
fn check_platform_features(state: &AppState, spec: &ClusterSpec) -> ApiResult<()> {
    match state
        .platform
        .as_ref()
        .and_then(|p| p.unsupported_features(spec))
    {
        Some(reason) => Err(ApiError::status(StatusCode::NOT_IMPLEMENTED, reason)),
        None => Ok(()),
    }
}

/// A request naming no `postgres_version` gets the one the platform runs, when it runs only
/// some (the local platform: the installed server), so what is reported is what runs.
fn default_version_for_platform(state: &AppState, body: &mut serde_json::Value) {
    let default = state
        .platform
        .as_ref()
        .and_then(|p| p.default_postgres_version());
    if let (Some(version), Some(fields)) = (default, body.as_object_mut()) {
        fields
            .entry("postgres_version")
            .or_insert_with(|| version.into());
    }
}

/// A clone needs a source cluster of the same tenant with a backup covering the target time.
/// Returns the site the clone goes on: its source's (PGO restores a clone from a repository in
/// its own namespace).
async fn check_clone_source(
    state: &AppState,
    access: &TenantAccess,
    source: &ClusterSource,
) -> ApiResult<Site> {
    let name = &source.cluster;
    let row = store::clusters::find(&state.db, access.tenant.id, name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_field(
                "source.cluster",
                format!("no cluster named `{name}` in this tenant"),
            )
        })?;
    let spec: ClusterSpec =
        serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)?;
    if let Some(standby) = &spec.standby {
        return Err(ApiError::invalid_field(
            "source.cluster",
            format!(
                "`{name}` is a standby of `{}` and takes no backups: clone `{}` instead",
                standby.source, standby.source
            ),
        ));
    }
    let Some(window) = super::backups::recoverable_window(state, &row, &spec).await? else {
        return Err(ApiError::conflict(format!(
            "cluster `{name}` has no successful full backup to clone from yet"
        )));
    };
    if let Some(at) = source.target_time
        && (at < window.earliest || at > window.latest)
    {
        return Err(ApiError::invalid_field(
            "source.target_time",
            format!(
                "{at} is outside the recoverable window of `{name}`: {} to {}",
                window.earliest.to_rfc3339(),
                window.latest.to_rfc3339()
            ),
        ));
    }
    Ok(row.site())
}

/// 501 naming the operation when this process's platform cannot carry out `action`.
pub(super) fn require_platform_support(state: &AppState, action: &ClusterAction) -> ApiResult<()> {
    match state
        .platform
        .as_ref()
        .and_then(|p| p.unsupported_action(action))
    {
        Some(reason) => Err(ApiError::status(StatusCode::NOT_IMPLEMENTED, reason)),
        None => Ok(()),
    }
}

pub(super) fn accepted(tenant: &str, operation: OperationOut) -> Response {
    let location = format!("/v1/operations/{}", operation.id);
    let cluster = operation.cluster.clone().unwrap_or_default();
    (
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, location),
            (
                header::CONTENT_LOCATION,
                format!("/v1/tenants/{tenant}/clusters/{cluster}"),
            ),
        ],
        Json(operation),
    )
        .into_response()
}

fn quota_exceeded(exceeded: Vec<ExceededLimit>) -> ApiError {
    let names: Vec<&str> = exceeded.iter().map(|e| e.limit).collect();
    ApiError::conflict(format!(
        "the tenant's quota does not allow this ({})",
        names.join(", ")
    ))
    .with_context(serde_json::json!({ "exceeded": exceeded }))
}

/// 409: the backups a deleted cluster of this name left behind still hold the name (PGO would
/// hand them to the new cluster; see `store::retained`).
fn name_reserved(name: &str, retained: &[store::retained::RetainedRow]) -> ApiError {
    let kept: Vec<String> = retained.iter().map(|r| r.describe()).collect();
    let until = retained.iter().map(|r| r.retained_until).max();
    ApiError::conflict(format!(
        "the name `{name}` is reserved by the backups kept after the deletion of {}; \
         choose another name, or wait until they expire",
        kept.join(", ")
    ))
    .with_context(serde_json::json!({
        "retained_backups": retained.iter().map(|r| serde_json::json!({
            "cluster_id": r.cluster_id,
            "deleted_at": r.deleted_at,
            "retained_until": r.retained_until,
        })).collect::<Vec<_>>(),
        "name_free_after": until,
    }))
}

pub(super) fn busy(operation: store::operations::OperationRow) -> ApiError {
    ApiError::conflict(format!(
        "operation {} ({}) is still {} on this cluster; wait for it to finish",
        operation.id, operation.kind, operation.state
    ))
    .with_context(serde_json::json!({ "operation_id": operation.id }))
    .with_retry_after(5)
}

fn queue_error(error: QueueError) -> ApiError {
    match error {
        QueueError::Busy(operation) => busy(*operation),
        QueueError::Store(e) => e.into(),
    }
}

/// Queues an operation on `cluster` in the caller's transaction.
pub(super) async fn queue(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    principal: &Principal,
    cluster: &ClusterRow,
    kind: &str,
    previous_spec: Option<&serde_json::Value>,
) -> ApiResult<store::operations::OperationRow> {
    queue_with(tx, state, principal, cluster, kind, previous_spec, None).await
}

/// [`queue`] for a day-2 action carrying its arguments.
pub(super) async fn queue_with(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    principal: &Principal,
    cluster: &ClusterRow,
    kind: &str,
    previous_spec: Option<&serde_json::Value>,
    params: Option<&serde_json::Value>,
) -> ApiResult<store::operations::OperationRow> {
    store::operations::insert(
        tx,
        &NewOperation {
            tenant_id: cluster.tenant_id,
            cluster_id: cluster.id,
            cluster_name: &cluster.name,
            kind,
            target_generation: cluster.generation,
            previous_spec,
            params,
            deadline: Utc::now() + state.settings.operation_deadline,
            created_by: principal.user_id(),
        },
    )
    .await
    .map_err(queue_error)
}

pub(super) async fn find_cluster(
    state: &AppState,
    access: &TenantAccess,
    name: &str,
) -> ApiResult<ClusterRow> {
    store::clusters::find(&state.db, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))
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
    let items = items
        .into_iter()
        .map(cluster_out)
        .collect::<ApiResult<Vec<_>>>()?;
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
    let mut body = body.parse()?;
    if access.tenant.suspended {
        return Err(ApiError::conflict(format!(
            "tenant `{tenant}` is suspended: no new clusters"
        )));
    }
    let standby_source = standby::source_of(&state, &access, &mut body).await?;
    default_version_for_platform(&state, &mut body);
    let spec = ClusterSpec::from_json(&body).map_err(ApiError::validation)?;
    check_platform_features(&state, &spec)?;
    let mut site = Site::Home;
    if let Some(source) = &spec.source {
        site = check_clone_source(&state, &access, source).await?;
    }
    if let Some((row, source)) = &standby_source {
        standby::check_source(&spec, row, source)?;
        site = row.site().for_standby(state.settings.recovery_site);
    }
    let document = serde_json::to_value(&spec).map_err(ApiError::internal)?;
    let mut tx = store::begin(&state.db).await?;
    if let Err(exceeded) =
        store::quotas::lock_and_check(&mut tx, access.tenant.id, spec.usage()).await?
    {
        return Err(quota_exceeded(exceeded));
    }
    let retained = store::retained::reserving_name(&mut *tx, access.tenant.id, &spec.name).await?;
    if !retained.is_empty() {
        return Err(name_reserved(&spec.name, &retained));
    }
    let cluster = store::clusters::insert(
        &mut tx,
        access.tenant.id,
        &spec.name,
        &document,
        spec.usage(),
        state
            .settings
            .postgres_images
            .image_for(spec.postgres_version),
        site,
    )
    .await
    .map_err(|e| {
        if e.is_constraint("clusters_tenant_name_key") {
            ApiError::conflict(format!(
                "a cluster named `{}` already exists in tenant `{tenant}`",
                spec.name
            ))
        } else {
            e.into()
        }
    })?;
    if let Some((source, _)) = &standby_source {
        standby::link(&mut tx, &state, &principal, &cluster, &source.name).await?;
    }
    let operation = queue(&mut tx, &state, &principal, &cluster, "create", None).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(accepted(&tenant, operation.into()))
}

/// Get a cluster: its full spec and observed status.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}", operation_id = "clusters.get", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), responses((status = 200, body = ClusterOut, headers(("ETag" = String)))))]
async fn get_cluster(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, cluster)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (_, row) =
        cluster_access(&state, &principal, &tenant, Action::ViewClusters, &cluster).await?;
    let out = cluster_out(row)?;
    Ok(([etag::header_value(&out.spec)], Json(out)).into_response())
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
    change_spec(&state, &principal, &access, &name, |current| {
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
    .await
}

/// A change of a cluster's desired spec, shared by PATCH and the endpoints that edit one part
/// of it (users): under the cluster's row lock, `change` turns the current spec into a merge
/// patch (or refuses), which is validated, quota-checked and queued as an `update` operation
/// (202). A patch that changes nothing answers 200 with the cluster.
pub(super) async fn change_spec(
    state: &AppState,
    principal: &Principal,
    access: &TenantAccess,
    name: &str,
    change: impl FnOnce(&ClusterSpec) -> ApiResult<serde_json::Value>,
) -> ApiResult<Response> {
    let tenant = &access.tenant.name;
    let mut tx = store::begin(&state.db).await?;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let current: ClusterSpec =
        serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)?;
    let patch = change(&current)?;
    if let Some(active) = store::operations::active_for_cluster(&mut *tx, row.id).await? {
        return Err(busy(active));
    }
    let updated = current
        .apply_merge_patch(&patch)
        .map_err(ApiError::validation)?;
    check_platform_features(state, &updated)?;
    if updated == current {
        tx.commit().await.map_err(store::StoreError::from)?;
        let out = cluster_out(row)?;
        return Ok(([etag::header_value(&out.spec)], Json(out)).into_response());
    }
    let growth: ResourceUsage = updated.usage().minus(current.usage());
    if let Err(exceeded) = store::quotas::lock_and_check(&mut tx, access.tenant.id, growth).await? {
        return Err(quota_exceeded(exceeded));
    }
    let document = serde_json::to_value(&updated).map_err(ApiError::internal)?;
    let cluster = store::clusters::update_spec(&mut tx, row.id, &document, updated.usage()).await?;
    let operation = queue(
        &mut tx,
        state,
        principal,
        &cluster,
        "update",
        Some(&row.spec.0),
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    let mut out = OperationOut::from(operation);
    out.restart_required = Some(restart_required(&current, &updated));
    Ok(accepted(tenant, out))
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
    let mut tx = store::begin(&state.db).await?;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let spec: ClusterSpec =
        serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)?;
    if spec.deletion_protection {
        return Err(ApiError::conflict(format!(
            "cluster `{name}` has deletion_protection on; PATCH it to false first"
        )));
    }
    let backups = match spec.deletion_policy {
        DeletionPolicy::KeepBackups => format!(
            "deletion_policy is keep_backups: the backup repository is kept for {} days after the cluster is gone, and the name `{name}` stays reserved for them",
            state.settings.deleted_backups_retention_days
        ),
        DeletionPolicy::DeleteBackups => "the backup repository is deleted with the cluster".into(),
    };
    let standbys = store::clusters::standbys_of(&mut *tx, access.tenant.id, &name).await?;
    let standbys = if standbys.is_empty() {
        String::new()
    } else {
        format!(
            "; its standbys ({}) keep what they received and stay read-only until promoted",
            standbys.join(", ")
        )
    };
    let operation = queue(&mut tx, &state, &principal, &row, "delete", None).await?;
    let kept_days = state.settings.deleted_backups_retention_days;
    store::operations::set_keep_backups_days(&mut *tx, operation.id, kept_days).await?;
    store::clusters::set_phase(&mut *tx, row.id, "deleting").await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    let mut out = OperationOut::from(operation);
    out.waiting_for = Some(format!(
        "a worker to start deleting the cluster; {backups}{standbys}"
    ));
    Ok(accepted(&tenant, out))
}
