//! What an operation is and where it stands: the kinds and states every operation row holds.

use serde::{Deserialize, Serialize};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Create,
    Update,
    Delete,
    RotatePassword,
    Backup,
    Restore,
    Switchover,
    Upgrade,
    MinorUpgrade,
    Extension,
    Promote,
}

impl OperationKind {
    pub const ALL: [OperationKind; 11] = [
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::RotatePassword,
        Self::Backup,
        Self::Restore,
        Self::Switchover,
        Self::Upgrade,
        Self::MinorUpgrade,
        Self::Extension,
        Self::Promote,
    ];

    /// The kind as stored (`operations.kind`) and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::RotatePassword => "rotate_password",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Switchover => "switchover",
            Self::Upgrade => "upgrade",
            Self::MinorUpgrade => "minor_upgrade",
            Self::Extension => "extension",
            Self::Promote => "promote",
        }
    }
}

impl std::fmt::Display for OperationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for OperationKind {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == stored)
            .ok_or_else(|| format!("unknown operation kind `{stored}`"))
    }
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationState {
    /// Queued; no worker has picked it up yet (it can still be cancelled).
    Pending,
    /// A worker is carrying it out, or it waits for the platform.
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl OperationState {
    pub const ALL: [OperationState; 5] = [
        Self::Pending,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The state as stored (`operations.state`) and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether it keeps other operations off its cluster.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }
}

impl std::fmt::Display for OperationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for OperationState {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == stored)
            .ok_or_else(|| format!("unknown operation state `{stored}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_read_back_what_they_store() {
        for kind in OperationKind::ALL {
            assert_eq!(OperationKind::try_from(kind.as_str().to_string()), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for state in OperationState::ALL {
            assert_eq!(
                OperationState::try_from(state.as_str().to_string()),
                Ok(state)
            );
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert!(OperationKind::try_from("vacuum".to_string()).is_err());
    }
}
