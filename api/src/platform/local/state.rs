//! What the local platform remembers about one cluster, in `state.json` next to its instances:
//! the desired state last applied, what has been carried out, the ports and the generated
//! passwords. Written atomically (temporary file + rename), readable only by pgplane's user.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tls::ClusterTls;
use crate::domain::cluster::ClusterSpec;

/// The superuser pgplane manages instances with (never handed to tenants).
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub cluster_id: Uuid,
    /// pgplane generation of `spec`.
    pub generation: i64,
    pub spec: ClusterSpec,
    /// The generation fully carried out (instances, configuration, roles), if any.
    pub reconciled_generation: Option<i64>,
    /// The instances, the primary first (a switchover reorders them; each keeps its ordinal).
    pub instances: Vec<InstanceState>,
    pub superuser_password: String,
    /// Passwords of the tenant's roles (the owner and `spec.users`).
    pub passwords: BTreeMap<String, String>,
    pub tls: ClusterTls,
    /// Consecutive failed attempts to carry out the desired state, and the last error.
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Where the pgBackRest repository stands.
    #[serde(default)]
    pub repository: RepositoryProgress,
    /// The last switchover carried out (its operation), so that a repeated run does not switch
    /// back.
    #[serde(default)]
    pub last_switchover: Option<Uuid>,
    /// The PgBouncer in front of the primary, once it has a port.
    #[serde(default)]
    pub pooler: Option<PoolerState>,
    /// The metrics exporter, once it has a port and a role.
    #[serde(default)]
    pub exporter: Option<ExporterState>,
    /// The insights collector's role ([`INSIGHTS_ROLE`]), once it has a password.
    ///
    /// [`INSIGHTS_ROLE`]: crate::domain::cluster::naming::INSIGHTS_ROLE
    #[serde(default)]
    pub insights: Option<InsightsRole>,
}

/// The insights collector's role in the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InsightsRole {
    pub password: String,
    /// The role and `pg_stat_statements` exist.
    #[serde(default)]
    pub ready: bool,
}

/// The cluster's metrics exporter (`monitoring.enabled`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExporterState {
    pub port: u16,
    /// The monitoring role's password (the role exists once `role_ready`).
    pub password: String,
    #[serde(default)]
    pub role_ready: bool,
    /// The primary's port the running exporter reads; another means a restart.
    #[serde(default)]
    pub started_for: Option<u16>,
}

/// The cluster's PgBouncer (`pooler.enabled`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolerState {
    pub port: u16,
    /// What it last read (configuration and role list).
    #[serde(default)]
    pub started_with: Option<super::pooler::Fingerprint>,
}

/// The pgBackRest repository's progress (its backups themselves are in `pgbackrest info`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepositoryProgress {
    /// The stanza exists, so WAL can be archived.
    pub stanza_created: bool,
    /// When the first full backup (PGO's initial backup) finished.
    pub initial_backup_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Until when the backup schedules have been looked at (schedules fire after it).
    pub schedules_checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest scheduled runs, oldest first.
    pub scheduled_runs: Vec<ScheduledRun>,
}

/// Scheduled runs remembered per cluster.
pub const SCHEDULED_RUNS_KEPT: usize = 10;

/// One backup taken on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledRun {
    /// Unique per run (reported to the sync, which records the backup under it).
    pub name: String,
    /// pgBackRest's type: `full`, `diff` or `incr`.
    pub kind: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub failed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceState {
    /// Names its data directory (`pg<ordinal>`) and the instance (`<cluster>-pg<ordinal>`).
    #[serde(default)]
    pub ordinal: usize,
    pub port: u16,
    /// A former primary that must be rewound (`pg_rewind`) before it runs again, as a replica.
    #[serde(default)]
    pub rejoin: bool,
    /// Fingerprint of the configuration the running server was started with; a different
    /// desired fingerprint means a restart.
    #[serde(default)]
    pub started_with: Option<String>,
}

impl ClusterState {
    /// Name of the instance at `position`, as shown to tenants (`<cluster>-pg<ordinal>`).
    pub fn instance_name(&self, position: usize) -> String {
        let ordinal = self.instances.get(position).map_or(position, |i| i.ordinal);
        format!("{}-pg{ordinal}", self.spec.name)
    }

    /// The smallest ordinal no instance has.
    pub fn free_ordinal(&self) -> usize {
        (0..)
            .find(|n| !self.instances.iter().any(|i| i.ordinal == *n))
            .unwrap_or(0)
    }

    /// Instances that should be running now.
    pub fn desired_instances(&self) -> usize {
        if self.spec.suspended {
            0
        } else {
            self.spec.instances as usize
        }
    }
}

pub fn load(path: &Path) -> anyhow::Result<Option<ClusterState>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut state: ClusterState = serde_json::from_slice(&bytes)?;
            // Written before instances had ordinals: their position was their ordinal.
            let ordinals: std::collections::BTreeSet<usize> =
                state.instances.iter().map(|i| i.ordinal).collect();
            if ordinals.len() != state.instances.len() {
                for (position, instance) in state.instances.iter_mut().enumerate() {
                    instance.ordinal = position;
                }
            }
            Ok(Some(state))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn save(path: &Path, state: &ClusterState) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(&serde_json::to_vec_pretty(state)?)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
