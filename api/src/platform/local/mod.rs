//! The `local` platform: each cluster is real PostgreSQL processes on this host, for
//! `pgplane dev` and for evaluating pgplane without Kubernetes.
//!
//! It behaves like an operator: `apply_cluster` only records the desired state (in the
//! cluster's `state.json`) and wakes the supervisor; the supervisor (one task, a tick a second)
//! makes every cluster match its state — initdb of the primary, `pg_basebackup` clones as
//! streaming replicas, configuration and restarts, roles and databases, pgBackRest's stanza
//! and backups, stopping everything while suspended, restarting servers that died, promoting
//! a replica when the primary dies — and reports each cluster as a PGO-shaped
//! report through the same watch → sync path as the Kubernetes driver. Because the state lives
//! on disk, a restarted pgplane finds its clusters and brings the ones that should run back up.
//!
//! Every instance listens on loopback only, with TLS (a CA per cluster) and SCRAM passwords;
//! WAL is archived into the cluster's pgBackRest repository. The tools PGO runs in its pods
//! are the ones used here (pgBackRest, PgBouncer, the metrics exporter, pg_rewind); a cluster
//! that needs one that is not installed is refused up front, naming the package.
//!
//! One module per job: `supervisor` (the convergence loop), `clusters` (desired state, delete,
//! password rotation), `backups` (pgBackRest backups, point-in-time restore), `schedules`
//! (backups on the cluster's cron schedules), `renewal` (server certificates renewed before
//! they expire), `failover` (switchover, automatic failover, former
//! primaries rejoining), `copies` (clones and standbys from another cluster's repository),
//! `upgrade` (major and minor upgrades), `sidecars` (PgBouncer and the exporter beside the
//! servers), `retention` (backups kept after a delete), `driver` (the `Platform` interface over them), `observe` (the typed
//! report), `error` (what fails, and whether a retry can help); below them the host's parts:
//! `instance` (one server's processes), `pgbackrest`, `pooler`, `exporter`, `config`, `roles`,
//! `extensions`, `tls`, `layout`, `state`.

mod backups;
mod clusters;
mod config;
mod copies;
mod daemon;
mod driver;
mod error;
mod exporter;
mod extensions;
mod failover;
mod files;
mod instance;
mod layout;
mod observe;
mod pgbackrest;
mod pooler;
mod renewal;
mod retention;
mod roles;
mod schedules;
mod sidecars;
mod state;
mod supervisor;
mod tls;
mod upgrade;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::files::set_mode;
use self::instance::Instance;
use self::layout::Layout;
use self::state::ClusterState;
use super::PlatformEvent;
use crate::embedded_pg::PgBinaries;

/// How often the supervisor looks at every cluster when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);
/// Failed attempts in a row before the cluster is reported as failed (the operation fails).
const FAILURES_BEFORE_FAILED: u32 = 5;

pub struct LocalPlatform {
    inner: Arc<Inner>,
    cancel: CancellationToken,
    supervisor: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Inner {
    layout: Layout,
    /// The newest PostgreSQL server installed (for what is the same for every major: the user
    /// servers run as).
    bins: PgBinaries,
    /// Every installed PostgreSQL server by major, oldest first: the versions this platform
    /// runs.
    servers: Vec<(u32, PgBinaries)>,
    /// The `pgbouncer` executable, when installed (without it, no cluster gets a pooler).
    pgbouncer: Option<std::path::PathBuf>,
    /// The metrics exporter, when installed (without it, no cluster gets monitoring).
    exporter: Option<std::path::PathBuf>,
    /// pgBackRest, when installed (without it, no cluster keeps backups).
    pgbackrest: Option<std::path::PathBuf>,
    /// The version each server directory held when last looked at, with what identified its
    /// executable then (a package update replaces it in place).
    versions: Mutex<HashMap<std::path::PathBuf, (String, String)>>,
    /// Clusters a backup is being taken of right now (taken outside the cluster's lock).
    backing_up: Mutex<std::collections::HashSet<Uuid>>,
    /// One lock per cluster: the supervisor, applies, deletes and actions never overlap on it.
    locks: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    kick: Notify,
    /// The status sync's channel, while it watches.
    watcher: Mutex<Option<mpsc::Sender<PlatformEvent>>>,
    /// Set when a new watch starts: the next tick reports every cluster, then `Resynced`.
    resync: AtomicBool,
    /// How long a deleted cluster's kept backups stay (`deletion_policy: keep_backups`).
    retention: std::time::Duration,
    /// How long server certificates live, and when they are renewed.
    certificates: crate::platform::CertificatePolicy,
}

/// What a local platform is started with.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// How long a deleted cluster's kept backups stay.
    pub retention: std::time::Duration,
    /// PostgreSQL bin directories run before the installed ones.
    pub more_servers: Vec<std::path::PathBuf>,
    pub certificates: crate::platform::CertificatePolicy,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            retention: DEFAULT_RETENTION,
            more_servers: Vec::new(),
            certificates: crate::platform::CertificatePolicy::default(),
        }
    }
}

/// Kept backups' retention when none is configured.
pub const DEFAULT_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl LocalPlatform {
    /// Starts the driver (and its supervisor) over the clusters kept under `root`.
    pub fn start(root: &Path) -> anyhow::Result<Arc<Self>> {
        Self::start_with_retention(root, DEFAULT_RETENTION)
    }

    /// [`LocalPlatform::start`], keeping deleted clusters' backups for `retention`.
    pub fn start_with_retention(
        root: &Path,
        retention: std::time::Duration,
    ) -> anyhow::Result<Arc<Self>> {
        Self::start_with(root, retention, &[])
    }

    /// [`LocalPlatform::start_with_retention`], running the PostgreSQL servers in the bin
    /// directories `more_servers` first (then the installed ones and `PGPLANE_PG_BIN_DIRS`).
    pub fn start_with(
        root: &Path,
        retention: std::time::Duration,
        more_servers: &[std::path::PathBuf],
    ) -> anyhow::Result<Arc<Self>> {
        Self::start_with_options(
            root,
            LocalOptions {
                retention,
                more_servers: more_servers.to_vec(),
                ..LocalOptions::default()
            },
        )
    }

    /// Starts the driver over the clusters kept under `root`, as `options` say.
    pub fn start_with_options(root: &Path, options: LocalOptions) -> anyhow::Result<Arc<Self>> {
        let LocalOptions {
            retention,
            more_servers,
            certificates,
        } = options;
        let servers = PgBinaries::find_all_and(&more_servers);
        let bins = servers
            .last()
            .map(|(_, bins)| bins.clone())
            .context(crate::embedded_pg::INSTALL_HINT)?;
        let layout = Layout::new(root);
        for dir in [root.to_path_buf(), root.join("clusters")] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Servers may run as another user (when we are root): let them through.
            set_mode(&dir, 0o755)?;
        }
        let pgbouncer = pooler::find_pgbouncer();
        if pgbouncer.is_none() {
            tracing::warn!(
                "PgBouncer is not installed (Debian package `pgbouncer`): clusters with \
                 pooler.enabled are refused with 501 until it is"
            );
        }
        let exporter = exporter::find_exporter();
        if exporter.is_none() {
            tracing::warn!(
                "the PostgreSQL metrics exporter is not installed (Debian package \
                 `prometheus-postgres-exporter`): clusters with monitoring.enabled are refused \
                 with 501 until it is"
            );
        }
        let pgbackrest = pgbackrest::find_pgbackrest();
        if pgbackrest.is_none() {
            tracing::warn!(
                "pgBackRest is not installed (Debian package `pgbackrest`): clusters with \
                 backups.enabled are refused with 501 until it is"
            );
        }
        let inner = Arc::new(Inner {
            layout,
            bins,
            servers,
            pgbouncer,
            exporter,
            pgbackrest,
            versions: Mutex::default(),
            backing_up: Mutex::default(),
            locks: Mutex::default(),
            kick: Notify::new(),
            watcher: Mutex::default(),
            resync: AtomicBool::new(false),
            retention,
            certificates,
        });
        let cancel = CancellationToken::new();
        let supervisor = tokio::spawn(supervisor::supervise(inner.clone(), cancel.clone()));
        Ok(Arc::new(Self {
            inner,
            cancel,
            supervisor: Mutex::new(Some(supervisor)),
        }))
    }
}

impl LocalPlatform {
    /// The supervisor's task, once (abort and shutdown end it).
    fn take_supervisor(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.supervisor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Stops the supervisor mid-flight and leaves the servers running, as a crash of pgplane
    /// would; a driver started later over the same directory adopts them.
    pub async fn abort(&self) {
        if let Some(supervisor) = self.take_supervisor() {
            supervisor.abort();
            let _ = supervisor.await;
        }
    }
}

impl Inner {
    fn lock(&self, id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(id).or_default().clone()
    }

    /// The cluster's instance at `position` (0: the primary), driven by the binaries of the
    /// cluster's major (the newest installed when that one is gone: its start then says why).
    fn instance(&self, state: &ClusterState, position: usize) -> Instance<'_> {
        let ordinal = state
            .instances
            .get(position)
            .map_or(position, |i| i.ordinal);
        Instance {
            bins: self
                .server(state.spec.postgres_version)
                .unwrap_or(&self.bins),
            dir: self.layout.instance_dir(state.cluster_id, ordinal),
        }
    }

    /// The cluster's pgBackRest; `None` when pgBackRest is not installed.
    fn pgbackrest(&self, id: Uuid) -> Option<pgbackrest::PgBackRest<'_>> {
        Some(pgbackrest::PgBackRest {
            bins: &self.bins,
            executable: self.pgbackrest.as_deref()?,
            dir: self.layout.pgbackrest_dir(id),
            repository: self.layout.repository_dir(id),
        })
    }

    /// How the instance at `position` archives and fetches WAL: through the cluster's
    /// repository when it keeps backups.
    fn archiving(&self, state: &ClusterState, position: usize) -> config::Archiving {
        if let Some(standby) = self.standby_archiving(state, position) {
            return standby;
        }
        match self.pgbackrest(state.cluster_id) {
            Some(repository) if state.spec.backups.enabled => {
                let dir = self.instance(state, position).dir;
                config::Archiving {
                    archive_command: repository.archive_push_command(&dir),
                    restore_command: Some(repository.archive_get_command(&dir)),
                }
            }
            _ => config::Archiving::none(),
        }
    }

    /// The binaries of PostgreSQL `major`, if installed.
    fn server(&self, major: u32) -> Option<&PgBinaries> {
        self.servers
            .iter()
            .find(|(installed, _)| *installed == major)
            .map(|(_, bins)| bins)
    }

    /// The version of the server installed for `major` now (`15.20`), read again whenever its
    /// executable changed.
    fn installed_version(&self, major: u32) -> Option<String> {
        let bins = self.server(major)?;
        let real = std::fs::canonicalize(bins.bin_dir.join("postgres")).ok()?;
        let modified = std::fs::metadata(&real).and_then(|m| m.modified()).ok();
        let identity = format!("{}@{modified:?}", real.display());
        let mut known = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, version)) = known.get(&bins.bin_dir)
            && *seen == identity
        {
            return Some(version.clone());
        }
        let version = bins.version().ok()?;
        known.insert(bins.bin_dir.clone(), (identity, version.clone()));
        Some(version)
    }

    /// The image name of what is installed for `major` (the local platform has no container
    /// images; its "image" is the server version it runs).
    fn installed_image(&self, major: u32) -> Option<String> {
        Some(format!("postgresql:{}", self.installed_version(major)?))
    }

    /// The majors this platform runs, oldest first.
    fn majors(&self) -> Vec<u32> {
        self.servers.iter().map(|(major, _)| *major).collect()
    }

    /// The cluster's PgBouncer; `None` when PgBouncer is not installed.
    fn pooler(&self, id: Uuid) -> Option<pooler::Pooler<'_>> {
        Some(pooler::Pooler {
            bins: &self.bins,
            executable: self.pgbouncer.as_deref()?,
            dir: self.layout.pooler_dir(id),
        })
    }

    /// The cluster's metrics exporter; `None` when it is not installed.
    fn exporter(&self, id: Uuid) -> Option<exporter::Exporter<'_>> {
        Some(exporter::Exporter {
            bins: &self.bins,
            executable: self.exporter.as_deref()?,
            dir: self.layout.exporter_dir(id),
        })
    }

    fn load(&self, id: Uuid) -> anyhow::Result<Option<ClusterState>> {
        state::load(&self.layout.state_file(id))
    }

    fn save(&self, state: &ClusterState) -> anyhow::Result<()> {
        state::save(&self.layout.state_file(state.cluster_id), state)
    }

    async fn send(&self, event: PlatformEvent) {
        let sender = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(sender) = sender {
            let _ = sender.send(event).await;
        }
    }
}
