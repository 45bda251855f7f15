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
    /// Instances by index; 0 is the primary.
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
    /// Base backups taken, oldest first.
    #[serde(default)]
    pub backups: Vec<LocalBackup>,
    /// The PgBouncer in front of the primary, once it has a port.
    #[serde(default)]
    pub pooler: Option<PoolerState>,
    /// The metrics exporter, once it has a port and a role.
    #[serde(default)]
    pub exporter: Option<ExporterState>,
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

/// A base backup in `backups/<id>` (full; WAL after it is in the archive).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalBackup {
    /// The operation that took it.
    pub id: Uuid,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceState {
    pub port: u16,
    /// Fingerprint of the configuration the running server was started with; a different
    /// desired fingerprint means a restart.
    #[serde(default)]
    pub started_with: Option<String>,
}

impl ClusterState {
    /// Name of instance `index`, as shown to tenants (`<cluster>-pg0` is the primary).
    pub fn instance_name(&self, index: usize) -> String {
        format!("{}-pg{index}", self.spec.name)
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
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
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
