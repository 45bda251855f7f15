//! A cluster's backups: their list with the cluster's backup health, the one rule for how far
//! back it can be restored, and the restore in place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::actions::{self, Day2};
use super::probe::Probe;
use super::{TenantAccess, spec_of};
use crate::app::AppState;
use crate::domain::cluster::backup_health::{BackupHealth, RecoverableWindow, backup_health};
use crate::domain::cluster::repository::RepositoryReport;
use crate::domain::cluster::{ClusterAction, ClusterSpec, require_running};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, backups::BackupRow, clusters::ClusterRow, operations::OperationRow};

/// Backups listed (newest first).
const LISTED: i64 = 100;

/// Where a recoverable window comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    /// What pgBackRest's repository holds.
    Repository,
    /// The full backups pgplane saw finish (the repository was not read).
    Records,
}

/// A cluster's backups and backup health.
pub struct BackupsView {
    pub backups: Vec<BackupRow>,
    pub health: BackupHealth,
    pub repository: Option<RepositoryReport>,
    pub repository_error: Option<String>,
    pub window_source: WindowSource,
}

/// Reads the cluster's backup repository when the platform has one and the cluster runs:
/// `Ok(None)` when there is nothing to read, `Err` with the reason when reading failed.
async fn read_repository(
    state: &AppState,
    row: &ClusterRow,
    spec: &ClusterSpec,
) -> ApiResult<Result<Option<RepositoryReport>, String>> {
    let Some(probe) = Probe::of(state.platform.as_ref()) else {
        return Ok(Ok(None));
    };
    if !spec.takes_backups() || require_running(spec, row.phase, "reading backups").is_err() {
        return Ok(Ok(None));
    }
    let target = store::targets::cluster_target(&state.db, row, spec.clone()).await?;
    Ok(probe.repository(&target).await.map_err(|e| e.to_string()))
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

/// The one rule for how far back `row` can be restored (in place, or into a clone): what its
/// repository holds when the platform can read it, else the full backups pgplane recorded
/// (including the operator's initial one). A repository that should be readable but is not
/// is a 503: a target it cannot reach would stop every instance for a restore that fails.
pub async fn recoverable_window(
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

/// 422 naming `field` unless `at` (when given) lies within `window`.
pub fn require_within(
    window: &RecoverableWindow,
    at: Option<DateTime<Utc>>,
    field: &str,
    whose: &str,
) -> ApiResult<()> {
    match at {
        Some(at) if at < window.earliest || at > window.latest => Err(ApiError::invalid_field(
            field,
            format!(
                "{at} is outside the recoverable window{whose} {} to {}",
                window.earliest.to_rfc3339(),
                window.latest.to_rfc3339()
            ),
        )),
        _ => Ok(()),
    }
}

/// The cluster's backups (newest first) with its backup health.
pub async fn list(state: &AppState, row: &ClusterRow) -> ApiResult<BackupsView> {
    let spec = spec_of(row)?;
    let backups = store::backups::list(&state.db, row.tenant_id, row.id, LISTED).await?;
    let fulls = store::backups::successful_fulls(&state.db, row.tenant_id, row.id).await?;
    let last_success = backups
        .iter()
        .filter(|b| b.state == "succeeded")
        .filter_map(|b| b.finished_at)
        .max();
    let now = Utc::now();
    let health = backup_health(&spec, row.created_at, last_success, &fulls, now);
    let (repository, repository_error) = match read_repository(state, row, &spec).await? {
        Ok(report) => (report, None),
        Err(reason) => (None, Some(reason)),
    };
    let (health, window_source) = health_with(health, repository.as_ref(), now);
    Ok(BackupsView {
        backups,
        health,
        repository,
        repository_error,
        window_source,
    })
}

/// Restores the cluster in place to `target_time` (or its latest state) once the recoverable
/// window allows it.
pub async fn restore(
    state: &AppState,
    access: &TenantAccess,
    row: &ClusterRow,
    target_time: Option<DateTime<Utc>>,
) -> ApiResult<OperationRow> {
    let window = recoverable_window(state, row, &spec_of(row)?).await?;
    let day2 = Day2 {
        has_full_backup: Some(window.is_some()),
        ..Day2::new(&row.name, ClusterAction::Restore { target_time })
    };
    actions::queue(state, access, day2, |_, _| match &window {
        Some(window) => require_within(window, target_time, "target_time", ""),
        None => Ok(()),
    })
    .await
}
