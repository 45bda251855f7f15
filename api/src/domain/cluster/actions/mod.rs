//! One vocabulary of what can be done to a cluster, and one place for the rules of when.
//!
//! [`ActionKind`] names every action a tenant can take on an existing cluster; [`check`] says,
//! from the cluster's state alone ([`ClusterFacts`]), whether the action may go ahead or why not.
//! The service layer runs it before queueing any operation, and [`allowed_actions`] runs it for
//! every action to tell clients what they can do now (`allowed_actions` on every cluster), so
//! the portal and other clients never repeat these rules. What the caller's role and the
//! platform allow is added by the service (permissions and drivers are not cluster state).

mod queued;
#[cfg(test)]
mod tests;

use serde::Serialize;
use uuid::Uuid;

use super::bounds::POSTGRES_VERSIONS;
use super::{ClusterSpec, OperationKind, OperationState, Phase};

pub use queued::{BackupFacts, BackupType, ClusterAction};

/// Every action on an existing cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Any change of the spec (PATCH).
    Update,
    Scale,
    Resize,
    Suspend,
    Resume,
    Parameters,
    Roles,
    Extensions,
    Backup,
    Restore,
    Clone,
    Switchover,
    Upgrade,
    MinorUpgrade,
    RotatePassword,
    CreateStandby,
    Promote,
    Delete,
}

impl ActionKind {
    pub const ALL: [ActionKind; 18] = [
        Self::Update,
        Self::Scale,
        Self::Resize,
        Self::Suspend,
        Self::Resume,
        Self::Parameters,
        Self::Roles,
        Self::Extensions,
        Self::Backup,
        Self::Restore,
        Self::Clone,
        Self::Switchover,
        Self::Upgrade,
        Self::MinorUpgrade,
        Self::RotatePassword,
        Self::CreateStandby,
        Self::Promote,
        Self::Delete,
    ];

    /// The action a queued day-2 operation carries out.
    pub fn of(action: &ClusterAction) -> Self {
        match action {
            ClusterAction::RotatePassword { .. } => Self::RotatePassword,
            ClusterAction::Backup { .. } => Self::Backup,
            ClusterAction::Restore { .. } => Self::Restore,
            ClusterAction::Switchover { .. } => Self::Switchover,
            ClusterAction::Upgrade { .. } => Self::Upgrade,
            ClusterAction::MinorUpgrade { .. } => Self::MinorUpgrade,
            ClusterAction::Extension { .. } => Self::Extensions,
            ClusterAction::Promote => Self::Promote,
        }
    }

    /// Actions that are changes of the spec: they take no running cluster and a standby may
    /// take them (its spec is its own), only not while another operation runs.
    fn changes_spec(self) -> bool {
        matches!(
            self,
            Self::Update
                | Self::Scale
                | Self::Resize
                | Self::Suspend
                | Self::Resume
                | Self::Parameters
                | Self::Roles
        )
    }

    /// The day-2 operation kind that carries the action (`operations.kind`), for the actions
    /// that a standby refuses.
    fn day2_kind(self) -> Option<&'static str> {
        Some(match self {
            Self::Extensions => "extension",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Switchover => "switchover",
            Self::Upgrade => "upgrade",
            Self::MinorUpgrade => "minor_upgrade",
            Self::RotatePassword => "rotate_password",
            _ => return None,
        })
    }
}

/// What [`check`] needs to know of a cluster.
#[derive(Debug, Clone)]
pub struct ClusterFacts<'a> {
    pub spec: &'a ClusterSpec,
    pub phase: Phase,
    /// The operation still pending or running on the cluster, if any.
    pub active_operation: Option<ActiveOperation>,
    /// Whether a full backup of the cluster succeeded (restore and clone need one).
    pub has_full_backup: bool,
    /// The image the cluster is pinned to (`None`: the operator's default).
    pub image: Option<&'a str>,
    /// The newest image the platform approves for the cluster's major version, if any.
    pub newest_image: Option<String>,
}

/// An operation that keeps others off its cluster until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveOperation {
    pub id: Uuid,
    pub kind: OperationKind,
    pub state: OperationState,
}

/// Why an action cannot go ahead now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The cluster's state does not allow it (answered 409 with the reason).
    State(String),
    /// Another operation runs on the cluster; it can be asked again once that ended.
    Busy {
        operation_id: Uuid,
        kind: OperationKind,
        state: OperationState,
    },
}

impl Refusal {
    /// The reason, as a sentence for people.
    pub fn reason(&self) -> String {
        match self {
            Refusal::State(reason) => reason.clone(),
            Refusal::Busy {
                operation_id,
                kind,
                state,
            } => format!(
                "operation {operation_id} ({kind}) is still {state} on this cluster; wait for it to finish"
            ),
        }
    }
}

/// Phases in which a cluster runs and can take a day-2 action.
const RUNNING_PHASES: [Phase; 3] = [Phase::Ready, Phase::Degraded, Phase::Updating];

/// Whether `action` may go ahead on the cluster now, from its state alone. The state's own
/// refusals come first (they hold until someone changes the cluster), then another operation
/// running (it passes by itself).
pub fn check(action: ActionKind, cluster: &ClusterFacts<'_>) -> Result<(), Refusal> {
    state_allows(action, cluster).map_err(Refusal::State)?;
    match cluster.active_operation {
        Some(active) => Err(Refusal::Busy {
            operation_id: active.id,
            kind: active.kind,
            state: active.state,
        }),
        None => Ok(()),
    }
}

/// The rules of [`check`] that depend on the cluster's spec and phase.
fn state_allows(action: ActionKind, cluster: &ClusterFacts<'_>) -> Result<(), String> {
    let spec = cluster.spec;
    let name = &spec.name;
    if action.changes_spec() {
        return match action {
            ActionKind::Suspend if spec.suspended => {
                Err(format!("cluster `{name}` is already suspended"))
            }
            ActionKind::Resume if !spec.suspended => {
                Err(format!("cluster `{name}` is not suspended"))
            }
            _ => Ok(()),
        };
    }
    if let (Some(standby), Some(kind)) = (&spec.standby, action.day2_kind()) {
        return Err(format!(
            "cluster `{name}` is a standby of `{}`: it is read-only and follows `{}` until it is promoted (POST .../promote), so it cannot take a `{kind}` operation",
            standby.source, standby.source
        ));
    }
    let running = |what: &str| require_running(spec, cluster.phase, what);
    match action {
        ActionKind::Backup => {
            if !spec.backups.enabled {
                return Err(format!(
                    "cluster `{name}` has backups disabled: PATCH backups.enabled to true first"
                ));
            }
            running("taking a backup")
        }
        ActionKind::Restore => {
            running("a restore")?;
            if !cluster.has_full_backup {
                return Err(format!(
                    "cluster `{name}` has no successful backup to restore from yet"
                ));
            }
            Ok(())
        }
        ActionKind::Clone => {
            if let Some(standby) = &spec.standby {
                return Err(format!(
                    "`{name}` is a standby of `{}` and takes no backups: clone `{}` instead",
                    standby.source, standby.source
                ));
            }
            if !cluster.has_full_backup {
                return Err(format!(
                    "cluster `{name}` has no successful full backup to clone from yet"
                ));
            }
            Ok(())
        }
        ActionKind::Switchover => {
            if spec.instances < 2 {
                return Err(format!(
                    "cluster `{name}` has a single instance: there is no replica to switch over to (PATCH instances to 2 or more first)"
                ));
            }
            running("a switchover")
        }
        ActionKind::Upgrade => {
            running("an upgrade")?;
            let newest = *POSTGRES_VERSIONS.end();
            if spec.postgres_version >= newest {
                return Err(format!(
                    "cluster `{name}` runs PostgreSQL {}, the newest supported major version",
                    spec.postgres_version
                ));
            }
            Ok(())
        }
        ActionKind::MinorUpgrade => minor_upgrade_allowed(cluster),
        ActionKind::RotatePassword => running("rotating a password"),
        ActionKind::Extensions => running("changing extensions"),
        ActionKind::CreateStandby => {
            if let Some(followed) = &spec.standby {
                return Err(format!(
                    "`{name}` is itself a standby of `{}`: follow `{}`, or promote `{name}` first",
                    followed.source, followed.source
                ));
            }
            running("a standby can copy it")
        }
        ActionKind::Promote => {
            if spec.standby.is_none() {
                return Err(format!(
                    "cluster `{name}` is not a standby: there is nothing to promote"
                ));
            }
            running("a promotion (a standby that has not copied its source has nothing to promote)")
        }
        ActionKind::Delete => {
            if spec.deletion_protection {
                return Err(format!(
                    "cluster `{name}` has deletion_protection on; PATCH it to false first"
                ));
            }
            Ok(())
        }
        // Changes of the spec were answered above.
        _ => Ok(()),
    }
}

/// A minor upgrade moves to the newest approved image of the cluster's major version.
fn minor_upgrade_allowed(cluster: &ClusterFacts<'_>) -> Result<(), String> {
    let (name, major) = (&cluster.spec.name, cluster.spec.postgres_version);
    let Some(newest) = cluster.newest_image.as_deref() else {
        return Err(format!(
            "the platform approves no image for PostgreSQL {major} (PGPLANE_POSTGRES_IMAGES): cluster `{name}` runs the operator's default image, whose minor version moves when the platform upgrades the operator"
        ));
    };
    if cluster.image == Some(newest) {
        return Err(format!(
            "cluster `{name}` already runs {newest}, the newest image the platform approves for PostgreSQL {major}"
        ));
    }
    require_running(cluster.spec, cluster.phase, "an upgrade")
}

/// Refused unless the cluster is running (not suspended, not being created or deleted).
pub fn require_running(spec: &ClusterSpec, phase: Phase, what: &str) -> Result<(), String> {
    if spec.suspended {
        return Err(format!(
            "cluster `{}` is suspended: resume it before {what}",
            spec.name
        ));
    }
    if !RUNNING_PHASES.contains(&phase) {
        return Err(format!(
            "cluster `{}` is {phase}: {what} needs a running cluster",
            spec.name
        ));
    }
    Ok(())
}

/// Whether one action is allowed now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Allowance {
    pub allowed: bool,
    /// Why not, for people; absent when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Allowance {
    pub const YES: Allowance = Allowance {
        allowed: true,
        reason: None,
    };

    pub fn refused(reason: impl Into<String>) -> Self {
        Allowance {
            allowed: false,
            reason: Some(reason.into()),
        }
    }

    fn from_check(result: Result<(), Refusal>) -> Self {
        match result {
            Ok(()) => Allowance::YES,
            Err(refusal) => Allowance::refused(refusal.reason()),
        }
    }
}

/// What the caller can do to the cluster now: one member per action, each allowed or refused
/// with the reason (the cluster's state, another operation running, the caller's role, or what
/// the platform cannot do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AllowedActions {
    /// Any change of the spec (PATCH): parameters, protection, policies.
    pub update: Allowance,
    /// Change the number of instances.
    pub scale: Allowance,
    /// Change CPU, memory or storage.
    pub resize: Allowance,
    pub suspend: Allowance,
    pub resume: Allowance,
    /// Change PostgreSQL parameters.
    pub parameters: Allowance,
    /// Add, change or remove the cluster's users and databases.
    pub roles: Allowance,
    /// Enable or disable extensions.
    pub extensions: Allowance,
    /// Take a backup now.
    pub backup: Allowance,
    /// Restore in place.
    pub restore: Allowance,
    /// Create a new cluster from this one's backups.
    pub clone: Allowance,
    pub switchover: Allowance,
    /// Upgrade to a newer major version.
    pub upgrade: Allowance,
    /// Move to the newest approved image of the same major version.
    pub minor_upgrade: Allowance,
    pub rotate_password: Allowance,
    /// Create a standby that follows this cluster.
    pub create_standby: Allowance,
    /// Make this standby a writable primary.
    pub promote: Allowance,
    pub delete: Allowance,
}

impl AllowedActions {
    /// The member for `action`.
    pub fn get_mut(&mut self, action: ActionKind) -> &mut Allowance {
        match action {
            ActionKind::Update => &mut self.update,
            ActionKind::Scale => &mut self.scale,
            ActionKind::Resize => &mut self.resize,
            ActionKind::Suspend => &mut self.suspend,
            ActionKind::Resume => &mut self.resume,
            ActionKind::Parameters => &mut self.parameters,
            ActionKind::Roles => &mut self.roles,
            ActionKind::Extensions => &mut self.extensions,
            ActionKind::Backup => &mut self.backup,
            ActionKind::Restore => &mut self.restore,
            ActionKind::Clone => &mut self.clone,
            ActionKind::Switchover => &mut self.switchover,
            ActionKind::Upgrade => &mut self.upgrade,
            ActionKind::MinorUpgrade => &mut self.minor_upgrade,
            ActionKind::RotatePassword => &mut self.rotate_password,
            ActionKind::CreateStandby => &mut self.create_standby,
            ActionKind::Promote => &mut self.promote,
            ActionKind::Delete => &mut self.delete,
        }
    }

    /// Refuses `action` for `reason` unless it is refused already (the first reason stays).
    pub fn refuse(&mut self, action: ActionKind, reason: impl FnOnce() -> String) {
        let allowance = self.get_mut(action);
        if allowance.allowed {
            *allowance = Allowance::refused(reason());
        }
    }
}

/// [`check`] for every action.
pub fn allowed_actions(cluster: &ClusterFacts<'_>) -> AllowedActions {
    let of = |action| Allowance::from_check(check(action, cluster));
    AllowedActions {
        update: of(ActionKind::Update),
        scale: of(ActionKind::Scale),
        resize: of(ActionKind::Resize),
        suspend: of(ActionKind::Suspend),
        resume: of(ActionKind::Resume),
        parameters: of(ActionKind::Parameters),
        roles: of(ActionKind::Roles),
        extensions: of(ActionKind::Extensions),
        backup: of(ActionKind::Backup),
        restore: of(ActionKind::Restore),
        clone: of(ActionKind::Clone),
        switchover: of(ActionKind::Switchover),
        upgrade: of(ActionKind::Upgrade),
        minor_upgrade: of(ActionKind::MinorUpgrade),
        rotate_password: of(ActionKind::RotatePassword),
        create_standby: of(ActionKind::CreateStandby),
        promote: of(ActionKind::Promote),
        delete: of(ActionKind::Delete),
    }
}
