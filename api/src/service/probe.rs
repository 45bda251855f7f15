//! The two questions a request may still ask the platform live, because the answer lives only
//! inside the running cluster: what its backup repository holds (`pgbackrest info`) and which
//! extensions a database has installed. Each has a time limit, so a slow platform makes a read
//! answer 503 in bounded time instead of holding the request; nothing else on the request path
//! talks to the platform (handlers never do).

use std::sync::Arc;
use std::time::Duration;

use crate::domain::cluster::repository::{RepositoryReport, parse_info};
use crate::domain::cluster::{ClusterTarget, InstalledExtension};
use crate::platform::{Platform, PlatformError};

/// How long a live question may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a live question got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// No answer now (timeout, platform unavailable): ask again.
    Unavailable(String),
    /// The platform refused the question.
    Refused(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Unavailable(reason) | ProbeError::Refused(reason) => f.write_str(reason),
        }
    }
}

impl From<PlatformError> for ProbeError {
    fn from(error: PlatformError) -> Self {
        match error {
            PlatformError::Rejected(reason) => ProbeError::Refused(reason),
            PlatformError::Transient(reason) | PlatformError::NotYet(reason) => {
                ProbeError::Unavailable(reason)
            }
        }
    }
}

/// The live questions, over this process's platform driver.
pub struct Probe {
    platform: Arc<dyn Platform>,
}

impl Probe {
    /// `None` for a process without a platform driver (nothing can be asked).
    pub fn of(platform: Option<&Arc<dyn Platform>>) -> Option<Probe> {
        platform.map(|platform| Probe {
            platform: platform.clone(),
        })
    }

    /// What the cluster's backup repository holds, or `None` when the platform keeps no
    /// pgBackRest repository (then pgplane's own records are what there is).
    pub async fn repository(
        &self,
        target: &ClusterTarget,
    ) -> Result<Option<RepositoryReport>, ProbeError> {
        let output = within_limit(self.platform.backup_repository(target)).await??;
        output
            .map(|text| parse_info(&text).map_err(ProbeError::Unavailable))
            .transpose()
    }

    /// The extensions installed in `database`, or `None` when the platform cannot look inside
    /// its clusters.
    pub async fn installed_extensions(
        &self,
        target: &ClusterTarget,
        database: &str,
    ) -> Result<Option<Vec<InstalledExtension>>, ProbeError> {
        Ok(within_limit(self.platform.list_extensions(target, database)).await??)
    }
}

async fn within_limit<T>(
    question: impl Future<Output = Result<T, PlatformError>>,
) -> Result<Result<T, PlatformError>, ProbeError> {
    tokio::time::timeout(PROBE_TIMEOUT, question)
        .await
        .map_err(|_| {
            ProbeError::Unavailable(format!(
                "the platform did not answer within {} s",
                PROBE_TIMEOUT.as_secs()
            ))
        })
}
