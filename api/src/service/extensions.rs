//! Extensions of a cluster's databases: what is installed (asked live through the [`Probe`],
//! the only place that knows) and enabling or disabling an allow-listed one (a day-2 action).

use axum::http::StatusCode;

use super::actions::{self, Day2};
use super::probe::{Probe, ProbeError};
use super::{TenantAccess, spec_of};
use crate::app::AppState;
use crate::domain::cluster::extensions::{allowed_extension, known_database};
use crate::domain::cluster::{ClusterAction, ClusterSpec, InstalledExtension, require_running};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, clusters::ClusterRow, operations::OperationRow};

/// 404 unless the cluster has `database`.
fn database_of(spec: &ClusterSpec, database: &str) -> ApiResult<()> {
    known_database(spec, database)
        .map(|_| ())
        .map_err(|reason| ApiError::status(StatusCode::NOT_FOUND, reason))
}

fn cannot_look_inside() -> ApiError {
    ApiError::not_implemented(
        "this pgplane process has no platform driver that can look inside clusters",
    )
}

/// The extensions installed in `database` of the running cluster.
pub async fn installed(
    state: &AppState,
    row: &ClusterRow,
    database: &str,
) -> ApiResult<Vec<InstalledExtension>> {
    let spec = spec_of(row)?;
    database_of(&spec, database)?;
    require_running(&spec, row.phase, "listing extensions").map_err(ApiError::conflict)?;
    let probe = Probe::of(state.platform.as_ref()).ok_or_else(cannot_look_inside)?;
    let target = store::targets::cluster_target(&state.db, row, spec).await?;
    match probe.installed_extensions(&target, database).await {
        Ok(Some(items)) => Ok(items),
        Ok(None) => Err(cannot_look_inside()),
        Err(ProbeError::Unavailable(reason)) => Err(ApiError::unavailable(reason)),
        Err(ProbeError::Refused(reason)) => Err(ApiError::conflict(reason)),
    }
}

/// Enables (or disables) the allow-listed `extension` in `database`.
pub async fn set_enabled(
    state: &AppState,
    access: &TenantAccess,
    cluster: &str,
    database: String,
    extension: String,
    enable: bool,
) -> ApiResult<OperationRow> {
    allowed_extension(&extension).map_err(|reason| ApiError::invalid_field("extension", reason))?;
    let action = ClusterAction::Extension {
        database: database.clone(),
        name: extension,
        enable,
    };
    actions::queue(state, access, Day2::new(cluster, action), |spec, _| {
        database_of(spec, &database)
    })
    .await
}
