//! One platform event into the metadata database.

use sqlx::PgPool;

use crate::domain::cluster::{ClusterSpec, Phase, observe};
use crate::platform::{ObservedCluster, PlatformEvent};
use crate::store::{self, StoreResult, clusters::Observation};

pub async fn apply(db: &PgPool, event: PlatformEvent) -> StoreResult<()> {
    match event {
        PlatformEvent::Observed(observed) => record(db, *observed).await,
        PlatformEvent::Gone { cluster_id, .. } => gone(db, cluster_id).await,
        PlatformEvent::Resynced => Ok(()),
    }
}

async fn record(db: &PgPool, seen: ObservedCluster) -> StoreResult<()> {
    let Some(cluster) = store::clusters::get(db, seen.cluster_id).await? else {
        return Ok(()); // not ours (any more)
    };
    let Ok(spec) = serde_json::from_value::<ClusterSpec>(cluster.spec.0.clone()) else {
        return Ok(());
    };
    let observed = observe(
        seen.status.as_ref(),
        seen.object_generation,
        &spec,
        seen.deleting,
    );
    let caught_up = observed
        .observed_generation
        .is_some_and(|g| g >= seen.object_generation);
    // The desired state the operator has acted on, in pgplane's generations.
    let observed_generation = seen.applied_generation.filter(|_| caught_up);
    let phase = serde_json::to_value(observed.phase)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let status = serde_json::json!({
        "ready_instances": observed.ready_instances,
        "desired_instances": observed.desired_instances,
        "primary_instance": observed.primary_instance,
        "message": observed.message,
        "pooler_ready": observed.pooler_ready,
    });
    let mut connection = seen.connection.clone();
    let password = connection.password.take();
    let connection = serde_json::to_value(&connection).unwrap_or_default();
    let observation = Observation {
        phase: &phase,
        observed_generation,
        status,
        connection,
        password: password.as_deref(),
    };
    store::clusters::record_observation(db, cluster.id, &observation).await?;
    let settled = match observed.phase {
        Phase::Ready => !spec.suspended,
        Phase::Suspended => spec.suspended,
        _ => false,
    };
    if let (true, Some(generation)) = (settled, observed_generation) {
        for id in store::operations::complete_observed(db, cluster.id, generation).await? {
            tracing::info!(operation_id = %id, cluster = %cluster.name, generation, "operation completed");
        }
    }
    if observed.phase == Phase::Failed
        && let Some(active) = store::operations::active_for_cluster(db, cluster.id).await?
        && active.kind != "delete"
    {
        let reason = observed
            .message
            .unwrap_or_else(|| "the operator stopped reconciling the cluster".into());
        store::operations::finish(db, active.id, "failed", Some(&reason)).await?;
    }
    Ok(())
}

async fn gone(db: &PgPool, cluster_id: uuid::Uuid) -> StoreResult<()> {
    match store::operations::active_delete(db, cluster_id).await? {
        Some(operation) => {
            if store::operations::finish(db, operation, "succeeded", None).await? {
                store::clusters::delete(db, cluster_id).await?;
            }
        }
        None => {
            if store::clusters::get(db, cluster_id).await?.is_some() {
                tracing::warn!(%cluster_id, "cluster disappeared from the platform without a delete");
                store::clusters::set_phase(db, cluster_id, "failed").await?;
            }
        }
    }
    Ok(())
}
