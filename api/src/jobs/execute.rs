//! Carrying out one claimed operation: load the current desired state, call the platform, and
//! say what happened. Level-triggered: a create or update applies whatever the cluster's desired
//! state is now, so a late or repeated run is harmless.

use chrono::Utc;
use sqlx::PgPool;

use super::effects::Effects;
use crate::domain::cluster::{BackupFacts, ConnectionFacts};
use crate::domain::cluster::{ClusterSpec, restart_parameters};
use crate::domain::operation::OperationKind;
use crate::platform::{ActionProgress, ClusterAction, DeleteProgress, Platform, PlatformError};
use crate::store::{self, operations::Claimed};

/// What became of an operation this time.
#[derive(Debug)]
pub enum Outcome {
    /// Applied; the operator still has to act (the text says on what).
    Waiting(String),
    /// Finished successfully, changing our records so (written fenced by the attempt).
    Succeeded(Effects),
    /// Cannot succeed; the reason is shown to the client. The effects of the refusal (a failed
    /// backup's record) are written fenced by the attempt.
    Failed(String, Effects),
}

impl Outcome {
    fn failed(reason: impl Into<String>) -> Self {
        Outcome::Failed(reason.into(), Effects::default())
    }
}

/// Errors of one execution: the platform's (retry or fail) or our database's (retry).
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("metadata database: {0}")]
    Store(#[from] store::StoreError),
}

pub async fn execute(
    db: &PgPool,
    platform: &dyn Platform,
    claim: &Claimed,
) -> Result<Outcome, ExecuteError> {
    let op = &claim.operation;
    if Utc::now() > op.deadline {
        let waiting = op.waiting_for.as_deref().unwrap_or("the platform");
        let last_error = op
            .error
            .as_deref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default();
        return Ok(Outcome::failed(format!(
            "deadline passed while waiting for {waiting}{last_error}"
        )));
    }
    let Some(cluster_id) = op.cluster_id else {
        return Ok(if op.kind == OperationKind::Delete {
            Outcome::Succeeded(Effects::default())
        } else {
            Outcome::failed("the cluster no longer exists")
        });
    };
    let Some(cluster) = store::clusters::get(db, cluster_id).await? else {
        return Ok(if op.kind == OperationKind::Delete {
            Outcome::Succeeded(Effects::default())
        } else {
            Outcome::failed("the cluster no longer exists")
        });
    };
    let spec: ClusterSpec = match serde_json::from_value(cluster.spec.0.clone()) {
        Ok(spec) => spec,
        Err(e) => return Ok(Outcome::failed(format!("stored spec is unreadable: {e}"))),
    };
    let target = store::targets::cluster_target(db, &cluster, spec).await?;
    match op.kind {
        OperationKind::Create | OperationKind::Update => {
            let wanted = op.target_generation.unwrap_or(target.generation);
            let observed = cluster.observed_generation.is_some_and(|g| g >= wanted);
            let settled = cluster.phase.settles(&target.spec);
            if observed && settled {
                if let Some(what) = restart_not_yet_flagged(db, platform, op, &target).await? {
                    return Ok(Outcome::Waiting(what));
                }
                // The operator says it is done; what runs must say so too (see
                // `Platform::rollout_pending`).
                return Ok(match platform.rollout_pending(&target).await? {
                    None => Outcome::Succeeded(Effects::default()),
                    Some(what) => Outcome::Waiting(what),
                });
            }
            if observed {
                // The operator has this generation and is carrying it out: applying it again
                // would only add load.
                return Ok(Outcome::Waiting(format!(
                    "the operator to finish generation {} of cluster {} (phase {})",
                    target.generation, target.spec.name, cluster.phase
                )));
            }
            platform.ensure_tenant(&target.tenant).await?;
            platform.apply_cluster(&target).await?;
            Ok(Outcome::Waiting(format!(
                "the operator to reconcile generation {} of cluster {}",
                target.generation, target.spec.name
            )))
        }
        OperationKind::Delete => match platform.delete_cluster(&target).await? {
            DeleteProgress::Gone => Ok(Outcome::Succeeded(Effects::default())),
            DeleteProgress::Deleting { waiting_for } => Ok(Outcome::Waiting(waiting_for)),
        },
        other => {
            let action = op
                .params
                .as_ref()
                .and_then(|p| serde_json::from_value::<ClusterAction>(p.0.clone()).ok());
            let Some(action) = action.filter(|a| a.kind() == other) else {
                return Ok(Outcome::failed(format!(
                    "the arguments of this `{other}` operation are unreadable"
                )));
            };
            let progress = platform.run_action(&target, &action, op.id).await;
            if let (ClusterAction::Backup { backup_type }, Err(PlatformError::Rejected(reason))) =
                (&action, &progress)
            {
                let effects = Effects {
                    backup_refused: Some((*backup_type, reason.clone())),
                    ..Effects::default()
                };
                return Ok(Outcome::Failed(reason.clone(), effects));
            }
            Ok(match progress? {
                ActionProgress::Done { connection, backup } => {
                    Outcome::Succeeded(action_effects(action, connection.map(|c| *c), backup))
                }
                ActionProgress::Waiting(what) => Outcome::Waiting(what),
            })
        }
    }
}

/// What a finished day-2 action changes in our records.
fn action_effects(
    action: ClusterAction,
    connection: Option<ConnectionFacts>,
    backup_taken: Option<BackupFacts>,
) -> Effects {
    let connection = connection.unwrap_or_default();
    let mut effects = Effects {
        password: connection.password,
        role_passwords: connection.role_passwords,
        backup_taken,
        ..Effects::default()
    };
    match action {
        ClusterAction::Upgrade {
            to_version,
            to_image,
        } => {
            effects.postgres_version = Some(to_version);
            effects.postgres_image = Some(to_image);
        }
        ClusterAction::MinorUpgrade { to_image, .. } => {
            effects.postgres_image = Some(Some(to_image));
        }
        ClusterAction::Promote => effects.promoted = true,
        _ => {}
    }
    effects
}

/// For an update changing parameters that need a restart: what it still waits for while the
/// platform may not show the restart as pending yet ([`Platform::restart_flag_delay`] since it
/// was applied); `None` otherwise.
async fn restart_not_yet_flagged(
    db: &PgPool,
    platform: &dyn Platform,
    op: &store::operations::OperationRow,
    target: &crate::platform::ClusterTarget,
) -> Result<Option<String>, ExecuteError> {
    let delay = platform.restart_flag_delay();
    let (Some(applied_at), false) = (op.applied_at, delay.is_zero()) else {
        return Ok(None);
    };
    let settles_at = applied_at + chrono::Duration::from_std(delay).unwrap_or_default();
    if op.kind != OperationKind::Update || Utc::now() >= settles_at {
        return Ok(None);
    }
    let previous = store::operations::previous_spec(db, op.id)
        .await?
        .and_then(|v| serde_json::from_value::<ClusterSpec>(v).ok());
    let Some(previous) = previous else {
        return Ok(None);
    };
    let changed = restart_parameters(&previous, &target.spec);
    Ok((!changed.is_empty()).then(|| {
        format!(
            "the instances to flag the restart that {} need (until {})",
            changed.join(", "),
            settles_at.to_rfc3339()
        )
    }))
}
