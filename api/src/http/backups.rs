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

use super::actions::queued_operation;
use super::error::{ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::cluster::backup_health::BackupHealth;
use crate::domain::cluster::repository::RepositoryReport;
use crate::domain::cluster::{BackupType, ClusterAction};
use crate::domain::permissions::Action;
use crate::service::actions::{self, Day2};
use crate::service::backups::{self as service, WindowSource};
use crate::store::backups::BackupRow;

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
    /// `manual` (asked for through the API), `scheduled`, or `initial` (the full backup the
    /// operator takes by itself when the cluster's repository is created).
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
    /// The backups pgplane asked for or saw finish, failed ones with their reason; newest
    /// first (at most 100).
    pub items: Vec<BackupOut>,
    #[serde(flatten)]
    pub health: BackupHealth,
    /// What the backup repository holds now (`pgbackrest info` in the primary): the backups
    /// retention keeps. Absent when the platform keeps no pgBackRest repository, the cluster
    /// is not running, or the repository could not be read (see `repository_error`).
    pub repository: Option<RepositoryReport>,
    /// Why the repository could not be read just now.
    pub repository_error: Option<String>,
    /// Where `recoverable_window` comes from: `repository` (what pgBackRest holds) or
    /// `records` (the full backups pgplane saw finish, when the repository was not read).
    pub window_source: WindowSource,
}

/// List a cluster's backups with its backup health.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/backups", operation_id = "clusters.backups.list", tag = "backups",
    params(("tenant" = String, Path), ("cluster" = String, Path)), responses((status = 200, body = BackupsOut)))]
async fn list_backups(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<BackupsOut>> {
    let (_, row) = cluster_access(&state, &principal, &tenant, Action::ViewClusters, &name).await?;
    let view = service::list(&state, &row).await?;
    Ok(Json(BackupsOut {
        items: view.backups.into_iter().map(BackupOut::from).collect(),
        health: view.health,
        repository: view.repository,
        repository_error: view.repository_error,
        window_source: view.window_source,
    }))
}

impl From<BackupRow> for BackupOut {
    fn from(b: BackupRow) -> Self {
        BackupOut {
            id: b.id,
            origin: b.origin,
            backup_type: b.backup_type,
            state: b.state,
            started_at: b.started_at,
            finished_at: b.finished_at,
            error: b.error,
            operation_id: b.operation_id,
        }
    }
}

/// Take a backup now. Answers 202 with the operation; it ends when the backup has finished
/// (a manual backup waits for the cluster's first full backup) or failed, with the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/clusters/{cluster}/backups", operation_id = "clusters.backups.create", tag = "backups",
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<BackupRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "Backups disabled, cluster not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot take backups", body = Problem, content_type = "application/problem+json")))]
async fn create_backup(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<BackupRequest>>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: BackupRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    let action = ClusterAction::Backup {
        backup_type: request.backup_type.unwrap_or(BackupType::Full),
    };
    let operation =
        actions::queue(&state, &access, Day2::new(&name, action), |_, _| Ok(())).await?;
    Ok(queued_operation(&tenant, operation))
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
    params(("tenant" = String, Path), ("cluster" = String, Path)), request_body = Option<RestoreRequest>,
    responses((status = 202, body = OperationOut),
        (status = 409, description = "No backup to restore from, cluster not running, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "target_time is outside the recoverable window", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The platform cannot restore", body = Problem, content_type = "application/problem+json")))]
async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    body: Option<ApiBody<RestoreRequest>>,
) -> ApiResult<Response> {
    let (access, row) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: RestoreRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    let operation = service::restore(&state, &access, &row, request.target_time).await?;
    Ok(queued_operation(&tenant, operation))
}
