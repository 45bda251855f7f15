//! Backups and restores of a cluster: take a backup now, list the backups with the cluster's
//! backup health (last good backup, recoverable window, overdue), and restore in place to a
//! point in time within the window or to the latest state.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::actions::{queue_action, require_running};
use super::clusters::find_cluster;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::cluster::ClusterSpec;
use crate::domain::cluster::backup_health::{BackupHealth, backup_health};
use crate::domain::permissions::Action;
use crate::platform::{BackupType, ClusterAction};
use crate::store;

/// Backups listed per request (newest first).
const LISTED: i64 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_backups, create_backup))
        .routes(routes!(restore))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// `full` (default), `differential` or `incremental`.
    #[serde(rename = "type")]
    pub backup_type: Option<BackupType>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackupOut {
    pub id: Uuid,
    /// `manual` (asked for through the API) or `scheduled`.
    pub origin: String,
    /// `full`, `differential` or `incremental`.
    #[serde(rename = "type")]
    pub backup_type: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: Option<String>,
    /// The operation that asked for it (manual backups).
    pub operation_id: Option<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackupsOut {
    /// Newest first (at most 100).
    pub items: Vec<BackupOut>,
    #[serde(flatten)]
    pub health: BackupHealth,
}

/// List a cluster's backups with its backup health.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/backups", operation_id = "clusters.backups.list", tag = "backups",
    params(("tenant" = String, Path), ("cluster" = String, Path)), responses((status = 200, body = BackupsOut)))]
async fn list_backups(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<BackupsOut>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewClusters).await?;
    let cluster = find_cluster(&state, &access, &name).await?;
    let spec: ClusterSpec =
        serde_json::from_value(cluster.spec.0.clone()).map_err(ApiError::internal)?;
    let rows = store::backups::list(&state.db, access.tenant.id, cluster.id, LISTED).await?;
    let fulls = store::backups::successful_fulls(&state.db, access.tenant.id, cluster.id).await?;
    let last_success = rows
        .iter()
        .filter(|b| b.state == "succeeded")
        .filter_map(|b| b.finished_at)
        .max();
    let health = backup_health(&spec, cluster.created_at, last_success, &fulls, Utc::now());
    let items = rows
        .into_iter()
        .map(|b| BackupOut {
            id: b.id,
            origin: b.origin,
            backup_type: b.backup_type,
            state: b.state,
            started_at: b.started_at,
            finished_at: b.finished_at,
            error: b.error,
            operation_id: b.operation_id,
        })
        .collect();
    Ok(Json(BackupsOut { items, health }))
}

/// Take a backup now. Answers 202 with the operation; it ends when the backup has finished
/// (a manual backup waits for the cluster's first full backup) or failed, with the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/backups", operation_id = "clusters.backups.create", tag = "backups",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = BackupRequest,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Backups disabled, cluster not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot take backups", body = Problem, content_type = "application/problem+json")))]
async fn create_backup(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiJson<BackupRequest>>,
) -> ApiResult<Response> {
    let access = tenant_access(&state, &principal, &tenant, Action::UpdateCluster).await?;
    let request = body.map(|ApiJson(r)| r).unwrap_or_default();
    let action = ClusterAction::Backup {
        backup_type: request.backup_type.unwrap_or(BackupType::Full),
    };
    queue_action(&state, &principal, &access, &name, action, |spec, row| {
        if !spec.backups.enabled {
            return Err(ApiError::conflict(format!(
                "cluster `{name}` has backups disabled: PATCH backups.enabled to true first"
            )));
        }
        require_running(spec, row, "taking a backup")
    })
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// RFC 3339 time to restore to, within the recoverable window; absent: the latest state.
    pub target_time: Option<DateTime<Utc>>,
}

/// Restore the cluster in place to a point in time (or its latest state). Every instance stops
/// while the restore runs; the operation ends when the cluster is ready again. Data written
/// after `target_time` is lost.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/restore", operation_id = "clusters.restore", tag = "backups",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = RestoreRequest,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "No backup to restore from, cluster not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "target_time is outside the recoverable window", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot restore", body = Problem, content_type = "application/problem+json")))]
async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiJson<RestoreRequest>>,
) -> ApiResult<Response> {
    let access = tenant_access(&state, &principal, &tenant, Action::UpdateCluster).await?;
    let request = body.map(|ApiJson(r)| r).unwrap_or_default();
    let cluster = find_cluster(&state, &access, &name).await?;
    let fulls = store::backups::successful_fulls(&state.db, access.tenant.id, cluster.id).await?;
    let action = ClusterAction::Restore {
        target_time: request.target_time,
    };
    let now = Utc::now();
    queue_action(&state, &principal, &access, &name, action, |spec, row| {
        require_running(spec, row, "a restore")?;
        let health = backup_health(spec, row.created_at, fulls.first().copied(), &fulls, now);
        let Some(window) = health.recoverable_window else {
            return Err(ApiError::conflict(format!(
                "cluster `{name}` has no successful full backup to restore from yet"
            )));
        };
        if let Some(at) = request.target_time
            && (at < window.earliest || at > window.latest)
        {
            return Err(ApiError::invalid_field(
                "target_time",
                format!(
                    "{at} is outside the recoverable window {} to {}",
                    window.earliest.to_rfc3339(),
                    window.latest.to_rfc3339()
                ),
            ));
        }
        Ok(())
    })
    .await
}
