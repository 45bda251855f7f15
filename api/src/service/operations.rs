//! Operations a client asked for and no longer wants.

use uuid::Uuid;

use crate::domain::cluster::Phase;

use crate::app::AppState;
use crate::domain::cluster::ClusterSpec;
use crate::domain::operation::{OperationKind, OperationState};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, operations::OperationRow};

/// Cancels operation `id` while no worker has picked it up, undoing what it wrote: a create's
/// cluster row goes, an update's spec returns to the one before it (unless a later update
/// builds on it), a delete's cluster is no longer deleting.
pub async fn cancel(state: &AppState, id: Uuid) -> ApiResult<OperationRow> {
    let mut tx = store::begin(&state.db).await?;
    let (operation, previous_spec) = store::operations::lock(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("operation"))?;
    if operation.state != OperationState::Pending {
        return Err(ApiError::conflict(format!(
            "operation is {} and can no longer be cancelled (only operations not yet picked up can)",
            operation.state
        )));
    }
    if let Some(cluster_id) = operation.cluster_id {
        match operation.kind {
            OperationKind::Create => store::clusters::delete(&mut *tx, cluster_id).await?,
            OperationKind::Update => {
                if let (Some(spec), Some(generation)) = (
                    previous_spec.and_then(|v| serde_json::from_value::<ClusterSpec>(v).ok()),
                    operation.target_generation,
                ) {
                    let value = serde_json::to_value(&spec).map_err(ApiError::internal)?;
                    let restored = store::clusters::restore_spec(
                        &mut tx,
                        cluster_id,
                        generation,
                        &value,
                        spec.usage(),
                    )
                    .await?;
                    if !restored {
                        return Err(ApiError::conflict(
                            "a later update of the cluster builds on this one's change: cancel \
                             that one first",
                        ));
                    }
                }
            }
            OperationKind::Delete => {
                store::clusters::set_phase(&mut *tx, cluster_id, Phase::Pending).await?;
            }
            _ => {} // day-2 actions changed nothing yet
        }
    }
    store::operations::finish(&mut *tx, id, OperationState::Cancelled, None).await?;
    let row = store::operations::get(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("operation"))?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(row)
}
