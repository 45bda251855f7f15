//! One platform event into the metadata database.

use crate::domain::operation::{OperationKind, OperationState};
use sqlx::PgPool;

use crate::domain::cluster::{ClusterSpec, InitialBackup, Phase, ScheduledBackup, observe};
use crate::observability::{self, OperationOutcome};
use crate::platform::{BackupType, ObservedCluster, PlatformEvent};
use crate::secrets::Keyring;
use crate::store::backups::NewBackup;
use crate::store::{self, StoreResult, clusters::Observation};

pub async fn apply(db: &PgPool, secrets: &Keyring, event: PlatformEvent) -> StoreResult<()> {
    match event {
        PlatformEvent::Observed(observed) => record(db, secrets, *observed).await,
        PlatformEvent::Gone { cluster_id, .. } => gone(db, cluster_id).await,
        PlatformEvent::Resynced => Ok(()),
    }
}

async fn record(db: &PgPool, secrets: &Keyring, seen: ObservedCluster) -> StoreResult<()> {
    let Some(cluster) = store::clusters::get(db, seen.cluster_id).await? else {
        return Ok(()); // not ours (any more)
    };
    let Ok(spec) = serde_json::from_value::<ClusterSpec>(cluster.spec.0.clone()) else {
        return Ok(());
    };
    let observed = observe(&seen.report, seen.object_generation, &spec, seen.deleting);
    let caught_up = observed
        .observed_generation
        .is_some_and(|g| g >= seen.object_generation);
    // The desired state the operator has acted on, in pgplane's generations.
    let observed_generation = seen.applied_generation.filter(|_| caught_up);
    let status = serde_json::json!({
        "ready_instances": observed.ready_instances,
        "desired_instances": observed.desired_instances,
        "primary_instance": observed.primary_instance,
        "message": observed.message,
        "pooler_ready": observed.pooler_ready,
        "metrics_url": observed.metrics_url,
    });
    let mut connection = seen.connection.clone();
    let password = connection.password.take().map(|password| {
        secrets.seal_str(
            &password,
            &crate::secrets::owner_password_context(cluster.id),
        )
    });
    let role_passwords = crate::secrets::seal_role_passwords(
        secrets,
        cluster.id,
        &std::mem::take(&mut connection.role_passwords),
    );
    let connection = serde_json::to_value(&connection).unwrap_or_default();
    let observation = Observation {
        phase: observed.phase,
        observed_generation,
        status,
        connection,
        password: password.as_ref(),
        role_passwords: &role_passwords,
    };
    store::clusters::record_observation(db, cluster.id, &observation).await?;
    if let Some(initial) = &seen.report.initial_backup {
        record_initial_backup(db, cluster.tenant_id, cluster.id, initial).await?;
    }
    record_scheduled_backups(
        db,
        cluster.tenant_id,
        cluster.id,
        &seen.report.scheduled_backups,
    )
    .await?;
    let settled = observed.phase.settles(&spec);
    if let (true, Some(generation)) = (settled, observed_generation)
        && store::operations::observed_settled(db, cluster.id, generation).await?
    {
        tracing::debug!(cluster = %cluster.name, generation, "observed settled; a worker confirms the rollout");
    }
    if observed.phase == Phase::Failed
        && let Some(active) = store::operations::active_for_cluster(db, cluster.id).await?
        && active.kind != OperationKind::Delete
    {
        let reason = observed
            .message
            .unwrap_or_else(|| "the operator stopped reconciling the cluster".into());
        if store::operations::finish(db, active.id, OperationState::Failed, Some(&reason)).await? {
            observability::operation_finished(active.kind.as_str(), OperationOutcome::Failed);
        }
    }
    Ok(())
}

/// The full backup PGO takes by itself once the stanza exists (PGO `reconcileReplicaCreateBackup`:
/// `status.pgbackrest.repos[].replicaCreateBackupComplete`, condition `PGBackRestReplicaCreate`
/// True), recorded once per occurrence (a restore or an upgrade takes a new one) so that a
/// young cluster can be restored or cloned before its first scheduled backup. The local
/// platform takes and reports one the same way.
async fn record_initial_backup(
    db: &PgPool,
    tenant_id: uuid::Uuid,
    cluster_id: uuid::Uuid,
    initial: &InitialBackup,
) -> StoreResult<()> {
    let platform_ref = format!(
        "initial/{}/{}",
        initial.repository,
        initial
            .finished_at
            .map_or_else(|| "first".to_string(), |t| t.to_rfc3339())
    );
    let backup = NewBackup {
        tenant_id,
        cluster_id,
        operation_id: None,
        platform_ref: &platform_ref,
        origin: "initial",
        backup_type: BackupType::Full,
        state: "succeeded",
        started_at: None,
        finished_at: Some(initial.finished_at.unwrap_or_else(chrono::Utc::now)),
        error: None,
    };
    store::backups::upsert(db, &backup).await
}

/// Scheduled backups the platform reports finished (PGO `status.pgbackrest.scheduledBackups`:
/// one entry per backup Job), recorded once each by name.
async fn record_scheduled_backups(
    db: &PgPool,
    tenant_id: uuid::Uuid,
    cluster_id: uuid::Uuid,
    runs: &[ScheduledBackup],
) -> StoreResult<()> {
    for run in runs {
        let Some(name) = &run.name else {
            continue;
        };
        let state = match (run.failed, run.finished_at.is_some()) {
            (true, _) => "failed",
            (false, true) => "succeeded",
            (false, false) => continue, // still running: recorded when it ends
        };
        let backup_type = match run.kind.as_deref() {
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
            started_at: run.started_at,
            finished_at: run
                .finished_at
                .or_else(|| run.failed.then(chrono::Utc::now)),
            error: run
                .failed
                .then_some("the scheduled pgBackRest backup Job failed"),
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
                store::operations::finish(&mut *tx, operation, OperationState::Succeeded, None)
                    .await?;
            if finished {
                store::retained::remove_cluster(&mut *tx, cluster_id, operation).await?;
            }
            tx.commit().await.map_err(store::StoreError::from)?;
            if finished {
                observability::operation_finished("delete", OperationOutcome::Succeeded);
            }
        }
        None => {
            if store::clusters::get(db, cluster_id).await?.is_some() {
                tracing::warn!(%cluster_id, "cluster disappeared from the platform without a delete");
                store::clusters::set_phase(db, cluster_id, Phase::Failed).await?;
            }
        }
    }
    Ok(())
}
