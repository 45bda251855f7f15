//! The one path every day-2 action takes (backup, restore, switchover, upgrades, password
//! rotation, extensions, promotion): refused (501) when this process's platform cannot do it;
//! then, in one transaction under the cluster's row lock, the domain's [`check`] of the
//! cluster's state (409 with the reason), the request's own conditions, and the operation
//! queued with its arguments.

use super::{TenantAccess, spec_of};
use crate::app::AppState;
use crate::domain::cluster::{
    ActionKind, ActiveOperation, ClusterAction, ClusterFacts, ClusterSpec, OperationKind, Refusal,
    check,
};
use crate::problem::{ApiError, ApiResult};
use crate::store::{
    self,
    clusters::ClusterRow,
    operations::{NewOperation, OperationRow, QueueError},
};

/// A day-2 action asked for on one cluster.
pub struct Day2<'a> {
    pub cluster: &'a str,
    pub action: ClusterAction,
    /// Whether the cluster has a full backup to restore from, when the use case found out
    /// (a restore reads the recoverable window first); otherwise pgplane's records say.
    pub has_full_backup: Option<bool>,
}

impl<'a> Day2<'a> {
    pub fn new(cluster: &'a str, action: ClusterAction) -> Self {
        Day2 {
            cluster,
            action,
            has_full_backup: None,
        }
    }
}

/// 501 naming the operation when this process's platform cannot carry out `action`.
pub fn require_platform_support(state: &AppState, action: &ClusterAction) -> ApiResult<()> {
    match state
        .platform
        .as_ref()
        .and_then(|p| p.unsupported_action(action))
    {
        Some(reason) => Err(ApiError::not_implemented(reason)),
        None => Ok(()),
    }
}

/// Queues `day2` on its cluster once the platform, the cluster's state and `still_valid` (the
/// request's own conditions, checked under the lock) allow it.
pub async fn queue(
    state: &AppState,
    access: &TenantAccess,
    day2: Day2<'_>,
    still_valid: impl FnOnce(&ClusterSpec, &ClusterRow) -> ApiResult<()>,
) -> ApiResult<OperationRow> {
    require_platform_support(state, &day2.action)?;
    let params = serde_json::to_value(&day2.action).map_err(ApiError::internal)?;
    let mut tx = store::begin(&state.db).await?;
    let name = day2.cluster;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let spec = spec_of(&row)?;
    let active = store::operations::active_for_cluster(&mut *tx, row.id).await?;
    let has_full_backup = match day2.has_full_backup {
        Some(known) => known,
        None => store::backups::has_successful_full(&mut *tx, row.id).await?,
    };
    let facts = ClusterFacts {
        has_full_backup,
        ..facts(state, &row, &spec, active.as_ref())
    };
    check(ActionKind::of(&day2.action), &facts)?;
    still_valid(&spec, &row)?;
    let carrying = Carrying::Params(&params);
    let operation = insert(&mut tx, state, access, &row, day2.action.kind(), carrying).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(operation)
}

/// What the domain's rules need to know of a cluster; `has_full_backup` is for the caller to
/// fill in when the action needs it.
pub fn facts<'a>(
    state: &'a AppState,
    row: &'a ClusterRow,
    spec: &'a ClusterSpec,
    active: Option<&'a OperationRow>,
) -> ClusterFacts<'a> {
    ClusterFacts {
        spec,
        phase: row.phase,
        active_operation: active.map(|op| ActiveOperation {
            id: op.id,
            kind: op.kind,
            state: op.state,
        }),
        has_full_backup: false,
        image: row.postgres_image.as_deref(),
        newest_image: state
            .image_catalog()
            .image_for(spec.postgres_version)
            .map(String::from),
    }
}

/// What an operation carries beside its kind.
#[derive(Debug, Clone, Copy)]
pub enum Carrying<'a> {
    Nothing,
    /// An update: the spec before it (put back if it is cancelled or refused).
    PreviousSpec(&'a serde_json::Value),
    /// A day-2 action: its arguments.
    Params(&'a serde_json::Value),
}

/// Queues an operation of `kind` on `cluster` in the caller's transaction (the workers wake at
/// commit); 409 when another one got there first.
pub async fn insert(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    access: &TenantAccess,
    cluster: &ClusterRow,
    kind: OperationKind,
    carrying: Carrying<'_>,
) -> ApiResult<OperationRow> {
    let (previous_spec, params) = match carrying {
        Carrying::Nothing => (None, None),
        Carrying::PreviousSpec(spec) => (Some(spec), None),
        Carrying::Params(params) => (None, Some(params)),
    };
    insert_operation(
        tx,
        &NewOperation {
            tenant_id: cluster.tenant_id,
            cluster_id: cluster.id,
            cluster_name: &cluster.name,
            kind,
            target_generation: cluster.generation,
            previous_spec,
            params,
            deadline: chrono::Utc::now() + state.settings.operation_deadline,
            created_by: access.acting_user,
        },
    )
    .await
}

/// [`store::operations::insert`], with another active operation answered as 409.
pub async fn insert_operation(
    tx: &mut sqlx::PgConnection,
    new: &NewOperation<'_>,
) -> ApiResult<OperationRow> {
    store::operations::insert(tx, new)
        .await
        .map_err(|error| match error {
            QueueError::Busy(operation) => busy(&operation),
            QueueError::Store(e) => e.into(),
        })
}

/// 409 naming the operation still active on the cluster.
pub fn busy(operation: &OperationRow) -> ApiError {
    Refusal::Busy {
        operation_id: operation.id,
        kind: operation.kind,
        state: operation.state,
    }
    .into()
}
