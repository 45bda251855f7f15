//! The day-2 actions a cluster takes beside changes of its spec, as they are queued with their
//! operation (`operations.params`) and carried out by a platform driver, and what a backup
//! reports when it finished.

use super::super::OperationKind;

/// A day-2 action on a cluster: an operation that is not a change of the desired spec. Stored
/// with its operation (`operations.params`), so it survives a crash of the worker running it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ClusterAction {
    /// Give `user` a new generated password; the old one stops working.
    RotatePassword { user: String },
    /// Take a backup now.
    Backup { backup_type: BackupType },
    /// Restore the cluster in place to `target_time`, or to the latest state when absent.
    Restore {
        target_time: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Make `target_instance` (or the best replica) the primary.
    Switchover { target_instance: Option<String> },
    /// Move the data to a newer PostgreSQL major version (`pg_upgrade`), onto the approved
    /// `to_image` when the platform pins images; the stored spec's `postgres_version` (and the
    /// cluster's image) change only when it succeeded.
    Upgrade {
        to_version: u32,
        #[serde(default)]
        to_image: Option<String>,
    },
    /// Move to a newer approved image of the same major version: the operator restarts the
    /// instances one at a time, replicas first. An image that cannot start puts `from_image`
    /// (`None`: the operator's default) back.
    MinorUpgrade {
        from_image: Option<String>,
        to_image: String,
    },
    /// Enable (`CREATE EXTENSION IF NOT EXISTS`) or disable (`DROP EXTENSION IF EXISTS`, never
    /// cascading into the tenant's objects) an allow-listed extension in one database.
    Extension {
        database: String,
        name: String,
        enable: bool,
    },
    /// Make a standby a writable primary that no longer follows its source (the stored spec
    /// loses `standby` once it is one).
    Promote,
}

/// pgBackRest backup types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BackupType {
    /// Everything.
    Full,
    /// Changes since the last full backup.
    Differential,
    /// Changes since the last backup of any type.
    Incremental,
}

impl BackupType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Full => "full",
            BackupType::Differential => "differential",
            BackupType::Incremental => "incremental",
        }
    }
}

impl ClusterAction {
    /// The operation kind that carries this action.
    pub fn kind(&self) -> OperationKind {
        match self {
            ClusterAction::RotatePassword { .. } => OperationKind::RotatePassword,
            ClusterAction::Backup { .. } => OperationKind::Backup,
            ClusterAction::Restore { .. } => OperationKind::Restore,
            ClusterAction::Switchover { .. } => OperationKind::Switchover,
            ClusterAction::Upgrade { .. } => OperationKind::Upgrade,
            ClusterAction::MinorUpgrade { .. } => OperationKind::MinorUpgrade,
            ClusterAction::Extension { .. } => OperationKind::Extension,
            ClusterAction::Promote => OperationKind::Promote,
        }
    }
}

/// A backup the platform finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFacts {
    pub backup_type: BackupType,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}
