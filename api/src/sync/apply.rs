//! One platform event into the metadata database.

use sqlx::PgPool;

use crate::domain::cluster::{ClusterSpec, Phase, observe};
use crate::observability::{self, OperationOutcome};
use crate::platform::{BackupType, ObservedCluster, PlatformEvent};
use crate::store::backups::NewBackup;
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
    if let Some(status) = &seen.status {
        record_scheduled_backups(db, cluster.tenant_id, cluster.id, status).await?;
    }
    let settled = match observed.phase {
        Phase::Ready => !spec.suspended,
        Phase::Suspended => spec.suspended,
        _ => false,
    };
    if let (true, Some(generation)) = (settled, observed_generation) {
        for id in store::operations::complete_observed(db, cluster.id, generation).await? {
            observability::operation_completed(db, id).await;
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
        if store::operations::finish(db, active.id, "failed", Some(&reason)).await? {
            observability::operation_finished(&active.kind, OperationOutcome::Failed);
        }
    }
    Ok(())
}

/// Scheduled backups the operator reports finished (PGO `status.pgbackrest.scheduledBackups`:
/// one entry per backup Job), recorded once each by Job name.
async fn record_scheduled_backups(
    db: &PgPool,
    tenant_id: uuid::Uuid,
    cluster_id: uuid::Uuid,
    status: &serde_json::Value,
) -> StoreResult<()> {
    let Some(jobs) = status["pgbackrest"]["scheduledBackups"].as_array() else {
        return Ok(());
    };
    for job in jobs {
        let Some(name) = job["name"].as_str() else {
            continue;
        };
        let failed = job["failed"].as_i64().unwrap_or(0) > 0;
        let finished_at = job["completionTime"].as_str().and_then(|t| t.parse().ok());
        let state = match (failed, finished_at.is_some()) {
            (true, _) => "failed",
            (false, true) => "succeeded",
            (false, false) => continue, // still running: recorded when it ends
        };
        let backup_type = match job["type"].as_str() {
            Some("diff") => BackupType::Differential,
            Some("incr") => BackupType::Incremental,
            _ => BackupType::Full,
        };
        let backup = NewBackup {
            tenant_id,
            cluster_id,
            operation_id: None,
            platform_ref: name,
            origin: "scheduled",
            backup_type,
            state,
            started_at: job["startTime"].as_str().and_then(|t| t.parse().ok()),
            finished_at: finished_at.or_else(|| failed.then(chrono::Utc::now)),
            error: failed.then_some("the scheduled pgBackRest backup Job failed"),
        };
        store::backups::upsert(db, &backup).await?;
    }
    Ok(())
}

async fn gone(db: &PgPool, cluster_id: uuid::Uuid) -> StoreResult<()> {
    match store::operations::active_delete(db, cluster_id).await? {
        Some(operation) => {
            // The finished delete and the removed row in one transaction.
            let mut tx = store::begin(db).await?;
            let finished =
                store::operations::finish(&mut *tx, operation, "succeeded", None).await?;
            if finished {
                store::clusters::delete(&mut *tx, cluster_id).await?;
            }
            tx.commit().await.map_err(store::StoreError::from)?;
            if finished {
                observability::operation_finished("delete", OperationOutcome::Succeeded);
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
