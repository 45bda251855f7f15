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

use super::actions::{platform_target, queue_action, require_running};
use super::clusters::find_cluster;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access, tenant_access};
use crate::app::AppState;
use crate::domain::cluster::ClusterSpec;
use crate::domain::cluster::backup_health::{BackupHealth, RecoverableWindow, backup_health};
use crate::domain::cluster::repository::{RepositoryReport, parse_info};
use crate::domain::permissions::Action;
use crate::platform::{BackupType, ClusterAction};
use crate::store::{self, clusters::ClusterRow};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    Repository,
    Records,
}

/// Reads the cluster's backup repository when the platform has one and the cluster runs:
/// `Ok(None)` when there is nothing to read, `Err` with the reason when reading failed.
async fn read_repository(
    state: &AppState,
    row: &ClusterRow,
    spec: &ClusterSpec,
) -> ApiResult<Result<Option<RepositoryReport>, String>> {
    let Some(platform) = state.platform.clone() else {
        return Ok(Ok(None));
    };
    if !spec.takes_backups() || require_running(spec, row, "reading backups").is_err() {
        return Ok(Ok(None));
    }
    let target = platform_target(state, row, spec.clone()).await?;
    Ok(match platform.backup_repository(&target).await {
        Ok(Some(output)) => parse_info(&output).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    })
}

/// The one rule for how far back `row` can be restored (in place, or into a clone): what its
/// repository holds when the platform can read it, else the full backups pgplane recorded
/// (including the operator's initial one). A repository that should be readable but is not
/// is a 503: a target it cannot reach would stop every instance for a restore that fails.
pub(super) async fn recoverable_window(
    state: &AppState,
    row: &ClusterRow,
    spec: &ClusterSpec,
) -> ApiResult<Option<RecoverableWindow>> {
    let fulls = store::backups::successful_fulls(&state.db, row.tenant_id, row.id).await?;
    let repository = read_repository(state, row, spec).await?.map_err(|reason| {
        ApiError::unavailable(format!(
            "cannot read the backup repository of `{}` to check the target: {reason}",
            row.name
        ))
    })?;
    let now = Utc::now();
    let health = backup_health(spec, row.created_at, fulls.first().copied(), &fulls, now);
    Ok(health_with(health, repository.as_ref(), now)
        .0
        .recoverable_window)
}

/// Health from pgplane's records, with the repository's window and last backup when it was
/// read (it knows about scheduled backups and retention; pgplane's records may not).
fn health_with(
    mut health: BackupHealth,
    repository: Option<&RepositoryReport>,
    now: DateTime<Utc>,
) -> (BackupHealth, WindowSource) {
    let Some(report) = repository else {
        return (health, WindowSource::Records);
    };
    health.recoverable_window = report.recoverable_window(now);
    health.last_successful_backup_at = health
        .last_successful_backup_at
        .max(report.last_backup_at());
    (health, WindowSource::Repository)
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
    let now = Utc::now();
    let health = backup_health(&spec, cluster.created_at, last_success, &fulls, now);
    let (repository, repository_error) = match read_repository(&state, &cluster, &spec).await? {
        Ok(report) => (report, None),
        Err(reason) => (None, Some(reason)),
    };
    let (health, window_source) = health_with(health, repository.as_ref(), now);
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
    Ok(Json(BackupsOut {
        items,
        health,
        repository,
        repository_error,
        window_source,
    }))
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
    let (access, cluster) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let request: RestoreRequest = body.map(ApiBody::parse).transpose()?.unwrap_or_default();
    let spec: ClusterSpec =
        serde_json::from_value(cluster.spec.0.clone()).map_err(ApiError::internal)?;
    let window = recoverable_window(&state, &cluster, &spec).await?;
    let action = ClusterAction::Restore {
        target_time: request.target_time,
    };
    queue_action(&state, &principal, &access, &name, action, |spec, row| {
        require_running(spec, row, "a restore")?;
        let Some(window) = &window else {
            return Err(ApiError::conflict(format!(
                "cluster `{name}` has no successful backup to restore from yet"
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
