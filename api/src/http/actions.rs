//! What every day-2 action endpoint does once it has built its [`ClusterAction`]: refuse it
//! (501) when this process's platform cannot do it, lock the cluster, let the endpoint check the
//! cluster's state (409 with the reason), refuse it while another operation runs (409 naming
//! it), and queue the operation with its arguments — all in one transaction — then answer 202.

use axum::response::Response;

use super::clusters::{accepted, busy, queue_with, require_platform_support};
use super::error::{ApiError, ApiResult};
use super::operations::OperationOut;
use super::principal::{Principal, TenantAccess};
use crate::app::AppState;
use crate::domain::cluster::ClusterSpec;
use crate::platform::{ClusterAction, ClusterTarget};
use crate::store::{self, clusters::ClusterRow};

/// Phases in which a cluster runs and can take a day-2 action.
const RUNNING_PHASES: &[&str] = &["ready", "degraded", "updating"];

/// 409 unless the cluster is running (not suspended, not being created or deleted).
pub fn require_running(spec: &ClusterSpec, row: &ClusterRow, what: &str) -> ApiResult<()> {
    if spec.suspended {
        return Err(ApiError::conflict(format!(
            "cluster `{}` is suspended: resume it before {what}",
            row.name
        )));
    }
    if !RUNNING_PHASES.contains(&row.phase.as_str()) {
        return Err(ApiError::conflict(format!(
            "cluster `{}` is {}: {what} needs a running cluster",
            row.name, row.phase
        )));
    }
    Ok(())
}

pub async fn queue_action(
    state: &AppState,
    principal: &Principal,
    access: &TenantAccess,
    name: &str,
    action: ClusterAction,
    check: impl FnOnce(&ClusterSpec, &ClusterRow) -> ApiResult<()>,
) -> ApiResult<Response> {
    let operation = queue_action_operation(state, principal, access, name, action, check).await?;
    Ok(accepted(&access.tenant.name, operation))
}

/// [`queue_action`] returning the queued operation, for endpoints that add to the answer.
pub async fn queue_action_operation(
    state: &AppState,
    principal: &Principal,
    access: &TenantAccess,
    name: &str,
    action: ClusterAction,
    check: impl FnOnce(&ClusterSpec, &ClusterRow) -> ApiResult<()>,
) -> ApiResult<OperationOut> {
    require_platform_support(state, &action)?;
    let params = serde_json::to_value(&action).map_err(ApiError::internal)?;
    let mut tx = store::begin(&state.db).await?;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let spec: ClusterSpec =
        serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)?;
    refuse_on_standby(&spec, &action)?;
    check(&spec, &row)?;
    if let Some(active) = store::operations::active_for_cluster(&mut *tx, row.id).await? {
        return Err(busy(active));
    }
    let operation = queue_with(
        &mut tx,
        state,
        principal,
        &row,
        action.kind(),
        None,
        Some(&params),
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(OperationOut::from(operation))
}

/// 409 for what a standby cannot do while it is read-only and follows its source: everything
/// but its promotion (backups, restores, upgrades, extensions, passwords and switchovers all
/// write, or belong to the source's primary).
fn refuse_on_standby(spec: &ClusterSpec, action: &ClusterAction) -> ApiResult<()> {
    match &spec.standby {
        Some(standby) if *action != ClusterAction::Promote => Err(ApiError::conflict(format!(
            "cluster `{}` is a standby of `{}`: it is read-only and follows `{}` until it is promoted (POST .../promote), so it cannot take a `{}` operation",
            spec.name,
            standby.source,
            standby.source,
            action.kind()
        ))),
        _ => Ok(()),
    }
}

/// The desired state the platform needs to look inside the cluster.
pub async fn platform_target(
    state: &AppState,
    row: &ClusterRow,
    spec: ClusterSpec,
) -> ApiResult<ClusterTarget> {
    Ok(store::targets::cluster_target(&state.db, row, spec).await?)
}
