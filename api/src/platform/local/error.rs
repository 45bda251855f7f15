//! What can go wrong on the local platform, and whether a later attempt can fix it: the
//! driver's functions return [`LocalError`]; it becomes a [`PlatformError`] only at the
//! `Platform` boundary, where its variant decides between retrying and failing the operation.

use crate::platform::PlatformError;

#[derive(Debug, thiserror::Error)]
pub(super) enum LocalError {
    /// The cluster's state has not been written yet (its create has not been applied).
    #[error("the cluster has not been created yet")]
    NotCreated,
    /// The primary's server is not accepting connections yet.
    #[error("the primary is not running yet")]
    PrimaryNotRunning,
    /// The primary has no port yet (it has not been created).
    #[error("the primary has not been created yet")]
    PrimaryNotCreated,
    /// Suspended clusters run no server to act on.
    #[error("the cluster is suspended: resume it {0}")]
    Suspended(&'static str),
    #[error("cluster {cluster} has no user `{user}`")]
    NoSuchUser { cluster: String, user: String },
    /// A point-in-time restore needs a backup from before the target time.
    #[error("the repository holds no backup from before the target time")]
    NoBackupBefore,
    /// The repository's stanza is not created yet (the cluster is still starting).
    #[error("the backup repository is not ready yet")]
    RepositoryNotReady,
    /// A switchover needs a running replica to hand over to.
    #[error("the cluster has no ready replica to switch over to")]
    NoReadyReplica,
    /// Another backup of the cluster is running.
    #[error("another backup of the cluster is running")]
    BackupRunning,
    #[error("the backup failed: {0:#}")]
    BackupFailed(anyhow::Error),
    /// The restore was rolled back: the cluster runs on its previous data.
    #[error("the restore failed and the cluster was left as it was: {0:#}")]
    RestoreFailed(anyhow::Error),
    /// The upgrade was rolled back: the cluster runs its previous version.
    #[error("the upgrade failed and the cluster was left on its previous version: {0:#}")]
    UpgradeFailed(anyhow::Error),
    /// PostgreSQL refused a statement; its message says why.
    #[error("{0}")]
    Refused(String),
    /// This platform cannot do what was asked (the reason names what it lacks).
    #[error("{0}")]
    Unsupported(String),
    /// Files, processes or connections on this host: worth another attempt.
    #[error("{0:#}")]
    Host(#[from] anyhow::Error),
}

impl From<std::io::Error> for LocalError {
    fn from(error: std::io::Error) -> Self {
        LocalError::Host(error.into())
    }
}

impl LocalError {
    /// A failed statement: refused by PostgreSQL (final, it says why), or a connection that
    /// failed or a database not created yet (another attempt may pass).
    pub(super) fn sql(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.code().as_deref() != Some("3D000") => {
                LocalError::Refused(db.message().to_string())
            }
            _ => LocalError::Host(error.into()),
        }
    }

    /// Whether another attempt can succeed without anyone changing anything.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            LocalError::NotCreated
                | LocalError::PrimaryNotRunning
                | LocalError::PrimaryNotCreated
                | LocalError::RepositoryNotReady
                | LocalError::BackupRunning
                | LocalError::Host(_)
        )
    }
}

impl From<LocalError> for PlatformError {
    fn from(error: LocalError) -> Self {
        let message = error.to_string();
        if error.is_transient() {
            PlatformError::Transient(message)
        } else {
            PlatformError::Rejected(message)
        }
    }
}
