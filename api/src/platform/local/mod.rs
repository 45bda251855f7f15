//! The `local` platform: each cluster is real PostgreSQL processes on this host, for
//! `pgplane dev` and for evaluating pgplane without Kubernetes.
//!
//! It behaves like an operator: `apply_cluster` only records the desired state (in the
//! cluster's `state.json`) and wakes the supervisor; the supervisor (one task, a tick a second)
//! makes every cluster match its state — initdb of the primary, `pg_basebackup` clones as
//! streaming replicas, configuration and restarts, roles and databases, stopping everything
//! while suspended, restarting servers that died — and reports each cluster as a PGO-shaped
//! status through the same watch → sync path as the Kubernetes driver. Because the state lives
//! on disk, a restarted pgplane finds its clusters and brings the ones that should run back up.
//!
//! Every instance listens on loopback only, with TLS (a CA per cluster) and SCRAM passwords;
//! WAL is archived into the cluster directory so replicas can always catch up. What this
//! platform cannot do (a connection pooler, a metrics exporter) is refused up front.

mod backups;
mod config;
mod extensions;
mod instance;
mod layout;
mod observe;
mod roles;
mod state;
mod tls;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngExt;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::instance::{Instance, ProcessState};
use self::layout::Layout;
use self::state::{ClusterState, InstanceState};
use super::{
    ActionProgress, BackupType, BoxFuture, ClusterAction, ClusterTarget, DeleteProgress,
    InstalledExtension, Platform, PlatformError, PlatformEvent, TenantTarget,
};
use crate::domain::cluster::{ClusterSpec, DeletionPolicy};
use crate::embedded_pg::{PgBinaries, free_port};

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
    bins: PgBinaries,
    /// The PostgreSQL major of `bins`: the only version this platform can run.
    major: u32,
    /// One lock per cluster: the supervisor, applies, deletes and actions never overlap on it.
    locks: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    kick: Notify,
    /// The status sync's channel, while it watches.
    watcher: Mutex<Option<mpsc::Sender<PlatformEvent>>>,
    /// Set when a new watch starts: the next tick reports every cluster, then `Resynced`.
    resync: AtomicBool,
    /// How long a deleted cluster's kept backups stay (`deletion_policy: keep_backups`).
    retention: std::time::Duration,
}

/// Kept backups' retention when none is configured.
pub const DEFAULT_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// In a kept cluster's directory: until when it is kept (RFC 3339).
const RETAIN_UNTIL_FILE: &str = "retain-until";

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
        let bins = PgBinaries::find()?;
        let major = bins.major_version()?;
        let layout = Layout::new(root);
        for dir in [root.to_path_buf(), root.join("clusters")] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Servers may run as another user (when we are root): let them through.
            set_mode(&dir, 0o755)?;
        }
        let inner = Arc::new(Inner {
            layout,
            bins,
            major,
            locks: Mutex::default(),
            kick: Notify::new(),
            watcher: Mutex::default(),
            resync: AtomicBool::new(false),
            retention,
        });
        let cancel = CancellationToken::new();
        let supervisor = tokio::spawn(supervise(inner.clone(), cancel.clone()));
        Ok(Arc::new(Self {
            inner,
            cancel,
            supervisor: Mutex::new(Some(supervisor)),
        }))
    }
}

impl LocalPlatform {
    /// Stops the supervisor mid-flight and leaves the servers running, as a crash of pgplane
    /// would; a driver started later over the same directory adopts them.
    pub async fn abort(&self) {
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(supervisor) = supervisor {
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

    fn instance(&self, id: Uuid, index: usize) -> Instance<'_> {
        Instance {
            bins: &self.bins,
            dir: self.layout.instance_dir(id, index),
        }
    }

    fn load(&self, id: Uuid) -> anyhow::Result<Option<ClusterState>> {
        state::load(&self.layout.state_file(id))
    }

    fn save(&self, state: &ClusterState) -> anyhow::Result<()> {
        state::save(&self.layout.state_file(state.cluster_id), state)
    }

    /// Makes the cluster's processes match its state. Idempotent; cheap when nothing changed.
    async fn converge(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let id = state.cluster_id;
        if state.spec.suspended {
            for index in (0..state.instances.len()).rev() {
                self.instance(id, index).stop().await?;
                state.instances[index].started_with = None;
            }
            state.reconciled_generation = Some(state.generation);
            return Ok(());
        }
        let desired = state.desired_instances();
        // Scaling down removes the newest replicas; the primary (pg0) always stays.
        while state.instances.len() > desired.max(1) {
            let index = state.instances.len() - 1;
            self.instance(id, index).destroy().await?;
            state.instances.pop();
        }
        let archive = self.layout.archive_dir(id);
        if !archive.exists() {
            std::fs::create_dir_all(&archive)?;
            self.bins.give_to_server_user(&archive)?;
        }
        if state.instances.is_empty() {
            state.instances.push(InstanceState {
                port: free_port()?,
                started_with: None,
            });
        }
        if !self.instance(id, 0).initialized() {
            self.instance(id, 0)
                .initdb(&state.superuser_password)
                .await?;
        }
        self.run_instance(state, 0).await?;
        if state.reconciled_generation != Some(state.generation) {
            let mut conn = roles::connect(state.instances[0].port, &state.superuser_password)
                .await
                .context("connecting to the primary")?;
            let result = roles::ensure(&mut conn, &state.spec, &state.passwords).await;
            roles::close(conn).await;
            result.context("creating roles and databases")?;
        }
        for index in 1..desired {
            if state.instances.len() <= index {
                state.instances.push(InstanceState {
                    port: free_port()?,
                    started_with: None,
                });
            }
            let replica = self.instance(id, index);
            if !replica.initialized() {
                replica
                    .clone_from(state.instances[0].port, &state.superuser_password)
                    .await
                    .with_context(|| format!("cloning replica {}", state.instance_name(index)))?;
            }
            self.run_instance(state, index).await?;
        }
        state.reconciled_generation = Some(state.generation);
        Ok(())
    }

    /// Starts instance `index` if it is down, restarts it if its configuration changed.
    async fn run_instance(&self, state: &mut ClusterState, index: usize) -> anyhow::Result<()> {
        let id = state.cluster_id;
        let instance = self.instance(id, index);
        let archive = self.layout.archive_dir(id);
        let mut config = config::server_config(&state.spec, state.instances[index].port, &archive);
        let mut fingerprint = config::fingerprint(&config);
        let process = instance.process();
        if process != ProcessState::Stopped
            && state.instances[index].started_with.as_deref() == Some(fingerprint.as_str())
        {
            return Ok(());
        }
        instance.stop().await?;
        instance.write_config(&config, &state.tls)?;
        if let Err(error) = instance.start().await {
            // The port may have been taken while the server was down: move to a free one.
            if !error.to_string().contains("could not bind")
                && port_is_free(state.instances[index].port)
            {
                return Err(error);
            }
            state.instances[index].port = free_port()?;
            config = config::server_config(&state.spec, state.instances[index].port, &archive);
            fingerprint = config::fingerprint(&config);
            instance.write_config(&config, &state.tls)?;
            instance.start().await?;
        }
        state.instances[index].started_with = Some(fingerprint);
        Ok(())
    }

    /// One supervisor pass over one cluster: converge, remember the outcome, report.
    async fn supervise_cluster(
        &self,
        id: Uuid,
        backoff: &mut HashMap<Uuid, Instant>,
    ) -> anyhow::Result<Option<PlatformEvent>> {
        let lock = self.lock(id);
        let _guard = lock.lock().await;
        let Some(mut state) = self.load(id)? else {
            return Ok(None);
        };
        let due = backoff.get(&id).is_none_or(|at| Instant::now() >= *at);
        if due {
            let before = serde_json::to_vec(&state)?;
            match self.converge(&mut state).await {
                Ok(()) => {
                    state.failures = 0;
                    state.last_error = None;
                    backoff.remove(&id);
                }
                Err(error) => {
                    tracing::warn!(cluster = %state.spec.name, error = format!("{error:#}"), "local cluster not converged");
                    state.failures = state.failures.saturating_add(1);
                    state.last_error = Some(format!("{error:#}"));
                    let delay = Duration::from_secs(1 << state.failures.min(5));
                    backoff.insert(id, Instant::now() + delay);
                }
            }
            if serde_json::to_vec(&state)? != before {
                self.save(&state)?;
            }
        }
        drop(_guard);
        self.observe_cluster(id).await
    }

    /// The cluster as it is, without changing anything.
    async fn observe_cluster(&self, id: Uuid) -> anyhow::Result<Option<PlatformEvent>> {
        let lock = self.lock(id);
        let _guard = lock.lock().await;
        Ok(self.load(id)?.map(|state| {
            PlatformEvent::Observed(Box::new(observe::observe(
                &state,
                |index| self.instance(id, index).process(),
                FAILURES_BEFORE_FAILED,
            )))
        }))
    }

    /// Stops every instance (pgplane is shutting down); the data stays for the next start.
    async fn stop_all(&self) {
        for id in self.layout.cluster_ids() {
            let lock = self.lock(id);
            let _guard = lock.lock().await;
            let count = self
                .load(id)
                .ok()
                .flatten()
                .map_or(0, |s| s.instances.len());
            for index in (0..count).rev() {
                if let Err(error) = self.instance(id, index).stop().await {
                    tracing::warn!(%id, index, error = format!("{error:#}"), "could not stop a local instance");
                }
            }
        }
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

/// The supervisor: every tick (or when woken) converges each cluster and reports what changed.
async fn supervise(inner: Arc<Inner>, cancel: CancellationToken) {
    let mut reported: HashMap<Uuid, String> = HashMap::new();
    let mut backoff: HashMap<Uuid, Instant> = HashMap::new();
    while !cancel.is_cancelled() {
        let resync = inner.resync.swap(false, Ordering::SeqCst);
        if resync {
            // A new watcher first hears how things are right now (servers may still be down
            // after a restart of pgplane), before this pass starts converging them.
            for id in inner.layout.cluster_ids() {
                if let Ok(Some(event)) = inner.observe_cluster(id).await {
                    reported.insert(id, observe::fingerprint(&event));
                    inner.send(event).await;
                }
            }
            inner.send(PlatformEvent::Resynced).await;
        }
        let mut seen = Vec::new();
        for id in inner.layout.cluster_ids() {
            match inner.supervise_cluster(id, &mut backoff).await {
                Ok(Some(event)) => {
                    seen.push(id);
                    let fingerprint = observe::fingerprint(&event);
                    if reported.get(&id) != Some(&fingerprint) {
                        reported.insert(id, fingerprint);
                        inner.send(event).await;
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%id, error = format!("{error:#}"), "local cluster state unreadable");
                }
            }
            if cancel.is_cancelled() {
                return;
            }
        }
        let gone: Vec<Uuid> = reported
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for cluster_id in gone {
            reported.remove(&cluster_id);
            backoff.remove(&cluster_id);
            inner
                .send(PlatformEvent::Gone {
                    tenant_id: Uuid::nil(),
                    cluster_id,
                })
                .await;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = inner.kick.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

fn generate_password() -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Roles of `spec` (the owner first).
fn role_names(spec: &ClusterSpec) -> impl Iterator<Item = &str> {
    std::iter::once(spec.owner.as_str()).chain(spec.users.iter().map(|u| u.name.as_str()))
}

fn transient(error: anyhow::Error) -> PlatformError {
    PlatformError::Transient(format!("{error:#}"))
}

impl LocalPlatform {
    async fn apply(&self, target: &ClusterTarget) -> anyhow::Result<()> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = match inner.load(id)? {
            Some(state) => state,
            None => {
                let dir = inner.layout.cluster_dir(id);
                std::fs::create_dir_all(&dir)?;
                set_mode(&dir, 0o755)?;
                ClusterState {
                    tenant_id: target.tenant.tenant_id,
                    tenant_name: target.tenant.tenant_name.clone(),
                    cluster_id: id,
                    generation: target.generation,
                    spec: target.spec.clone(),
                    reconciled_generation: None,
                    instances: Vec::new(),
                    superuser_password: generate_password(),
                    passwords: BTreeMap::new(),
                    tls: tls::issue(&target.spec.name)?,
                    failures: 0,
                    last_error: None,
                    backups: Vec::new(),
                }
            }
        };
        // A late retry of an older generation must not roll back a newer one.
        if target.generation < state.generation {
            return Ok(());
        }
        state.generation = target.generation;
        state.spec = target.spec.clone();
        state.tenant_name = target.tenant.tenant_name.clone();
        let roles: Vec<String> = role_names(&state.spec).map(String::from).collect();
        for role in roles {
            state
                .passwords
                .entry(role)
                .or_insert_with(generate_password);
        }
        inner.save(&state)?;
        inner.kick.notify_one();
        Ok(())
    }

    async fn delete(&self, target: &ClusterTarget) -> anyhow::Result<()> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let dir = inner.layout.cluster_dir(id);
        if !dir.exists() {
            return Ok(());
        }
        let state = inner.load(id)?;
        let count = state.as_ref().map_or(0, |s| s.instances.len());
        for index in (0..count).rev() {
            inner.instance(id, index).destroy().await?;
        }
        let spec = state.as_ref().map_or(&target.spec, |s| &s.spec);
        if spec.deletion_policy == DeletionPolicy::KeepBackups {
            let kept = inner
                .layout
                .retained_dir(&target.tenant.tenant_name, &spec.name, id);
            for (what, from) in [
                ("wal-archive", inner.layout.archive_dir(id)),
                ("backups", inner.layout.backups_dir(id)),
            ] {
                if from.exists() {
                    std::fs::create_dir_all(&kept)?;
                    std::fs::rename(&from, kept.join(what))
                        .with_context(|| format!("keeping {what} in {}", kept.display()))?;
                }
            }
            if kept.exists() {
                let until = chrono::Duration::from_std(inner.retention)
                    .map(|r| chrono::Utc::now() + r)
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                std::fs::write(kept.join(RETAIN_UNTIL_FILE), until.to_rfc3339())?;
            }
            tracing::info!(cluster = %spec.name, kept = %kept.display(), "kept the backups of a deleted cluster");
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        inner.kick.notify_one();
        Ok(())
    }

    async fn rotate_password(
        &self,
        target: &ClusterTarget,
        user: &str,
    ) -> Result<ActionProgress, PlatformError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = inner.load(id).map_err(transient)?.ok_or_else(|| {
            PlatformError::Transient("the cluster has not been created yet".into())
        })?;
        if !role_names(&state.spec).any(|r| r == user) {
            return Err(PlatformError::Rejected(format!(
                "cluster {} has no user `{user}`",
                state.spec.name
            )));
        }
        if state.spec.suspended {
            return Err(PlatformError::Rejected(
                "the cluster is suspended: resume it before rotating a password".into(),
            ));
        }
        // Saved before it is set: a crash in between leaves a password that the next attempt
        // (or the next convergence) replaces, never one nobody knows.
        let password = generate_password();
        state.passwords.insert(user.to_string(), password.clone());
        inner.save(&state).map_err(transient)?;
        let port = primary_port(&state)?;
        let mut conn = roles::connect(port, &state.superuser_password)
            .await
            .map_err(|e| PlatformError::Transient(format!("connecting to the primary: {e}")))?;
        let result = roles::set_password(&mut conn, user, &password).await;
        roles::close(conn).await;
        result.map_err(transient)?;
        inner.kick.notify_one();
        let connection = Some(Box::new(observe::connection(&state)));
        Ok(ActionProgress::Done {
            connection,
            backup: None,
        })
    }
}

impl LocalPlatform {
    /// The port and superuser password of the cluster's primary.
    fn primary(&self, target: &ClusterTarget) -> Result<(u16, String), PlatformError> {
        let state = self
            .inner
            .load(target.cluster_id)
            .map_err(transient)?
            .ok_or_else(|| {
                PlatformError::Transient("the cluster has not been created yet".into())
            })?;
        Ok((primary_port(&state)?, state.superuser_password))
    }
}

/// The port of the cluster's primary (its first instance).
fn primary_port(state: &state::ClusterState) -> Result<u16, PlatformError> {
    state
        .instances
        .first()
        .map(|i| i.port)
        .ok_or_else(|| PlatformError::Transient("the primary has not been created yet".into()))
}

/// A statement PostgreSQL refused is final (it says why); a connection that failed, or a
/// database not created yet, may pass.
fn sql_failure(error: sqlx::Error) -> PlatformError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() != Some("3D000") => {
            PlatformError::Rejected(db.message().to_string())
        }
        _ => PlatformError::Transient(error.to_string()),
    }
}

/// Removes kept backups whose retention is over: `<root>/retained/<tenant>/<cluster>-<id>/`
/// with a readable `retain-until` in the past (an unreadable one is kept).
fn expire_retained(root: &Path, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<usize> {
    let mut expired = 0;
    let Ok(tenants) = std::fs::read_dir(root.join("retained")) else {
        return Ok(0);
    };
    for tenant in tenants.flatten() {
        for kept in std::fs::read_dir(tenant.path())?.flatten() {
            let until = std::fs::read_to_string(kept.path().join(RETAIN_UNTIL_FILE))
                .ok()
                .and_then(|t| t.trim().parse::<chrono::DateTime<chrono::Utc>>().ok());
            if until.is_some_and(|until| until <= now) {
                std::fs::remove_dir_all(kept.path())
                    .with_context(|| format!("removing {}", kept.path().display()))?;
                tracing::info!(kept = %kept.path().display(), "deleted the backups kept after a cluster's deletion: their time is up");
                expired += 1;
            }
        }
    }
    Ok(expired)
}

impl Platform for LocalPlatform {
    fn name(&self) -> &'static str {
        "local"
    }

    fn unsupported_action(&self, action: &ClusterAction) -> Option<String> {
        match action {
            ClusterAction::RotatePassword { .. }
            | ClusterAction::Restore { .. }
            | ClusterAction::Extension { .. } => None,
            ClusterAction::Backup {
                backup_type: BackupType::Full,
            } => None,
            ClusterAction::Backup { .. } => Some(
                "the local platform takes full backups only (pg_basebackup); WAL archiving covers the time in between".into(),
            ),
            other => Some(format!(
                "the local platform cannot carry out `{}` operations",
                other.kind()
            )),
        }
    }

    fn default_postgres_version(&self) -> Option<u32> {
        Some(self.inner.major)
    }

    fn unsupported_features(&self, spec: &ClusterSpec) -> Option<String> {
        let major = self.inner.major;
        if spec.postgres_version != major {
            return Some(format!(
                "the local platform runs the PostgreSQL server installed on this host, version \
                 {major} ({}): postgres_version {} is not installed; ask for {major}",
                self.inner.bins.bin_dir.display(),
                spec.postgres_version
            ));
        }
        if spec.pooler.enabled {
            return Some(
                "the local platform has no connection pooler (PgBouncer): set pooler.enabled to false".into(),
            );
        }
        if spec.source.is_some() {
            return Some("the local platform cannot clone clusters (source)".into());
        }
        if spec.standby.is_some() {
            return Some(
                "the local platform cannot run standby clusters (standby): they need the Kubernetes platform".into(),
            );
        }
        if spec.monitoring.enabled {
            return Some(
                "the local platform has no metrics exporter: set monitoring.enabled to false"
                    .into(),
            );
        }
        None
    }

    fn expire_retained_backups(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async move {
            expire_retained(self.inner.layout.root(), chrono::Utc::now()).map_err(transient)
        })
    }

    fn list_extensions<'a>(
        &'a self,
        target: &'a ClusterTarget,
        database: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<InstalledExtension>>, PlatformError>> {
        Box::pin(async move {
            let (port, password) = self.primary(target)?;
            let listed = extensions::list(port, &password, database)
                .await
                .map_err(sql_failure)?;
            Ok(Some(listed))
        })
    }

    fn ensure_tenant<'a>(
        &'a self,
        _tenant: &'a TenantTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        // Tenants share the host; their clusters are separated by directory, port and password.
        Box::pin(async { Ok(()) })
    }

    fn apply_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        Box::pin(async move {
            if let Some(reason) = self.unsupported_features(&target.spec) {
                return Err(PlatformError::Rejected(reason));
            }
            self.apply(target).await.map_err(transient)
        })
    }

    fn delete_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<DeleteProgress, PlatformError>> {
        Box::pin(async move {
            self.delete(target).await.map_err(transient)?;
            Ok(DeleteProgress::Gone)
        })
    }

    fn run_action<'a>(
        &'a self,
        target: &'a ClusterTarget,
        action: &'a ClusterAction,
        operation_id: Uuid,
    ) -> BoxFuture<'a, Result<ActionProgress, PlatformError>> {
        Box::pin(async move {
            if let Some(reason) = self.unsupported_action(action) {
                return Err(PlatformError::Rejected(reason));
            }
            match action {
                ClusterAction::RotatePassword { user } => self.rotate_password(target, user).await,
                ClusterAction::Backup { .. } => self.backup(target, operation_id).await,
                ClusterAction::Restore { target_time } => {
                    self.restore(target, *target_time, operation_id).await
                }
                ClusterAction::Extension {
                    database,
                    name,
                    enable,
                } => {
                    let (port, password) = self.primary(target)?;
                    extensions::set(port, &password, database, name, *enable)
                        .await
                        .map_err(sql_failure)?;
                    Ok(ActionProgress::done())
                }
                other => Err(PlatformError::Rejected(format!(
                    "the local platform cannot carry out `{}` operations",
                    other.kind()
                ))),
            }
        })
    }

    fn watch(
        &self,
        events: mpsc::Sender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        Box::pin(async move {
            *self.inner.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(events);
            self.inner.resync.store(true, Ordering::SeqCst);
            self.inner.kick.notify_one();
            cancel.cancelled().await;
            *self.inner.watcher.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(())
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.cancel.cancel();
            let supervisor = self
                .supervisor
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(supervisor) = supervisor {
                let _ = supervisor.await;
            }
            tracing::info!("stopping the local clusters");
            self.inner.stop_all().await;
            // Tell the sync (still running) that the servers are down, so nothing shows as
            // ready while pgplane is not there to look after it.
            for id in self.inner.layout.cluster_ids() {
                if let Ok(Some(event)) = self.inner.observe_cluster(id).await {
                    self.inner.send(event).await;
                }
            }
        })
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn kept_backups_go_when_their_time_is_up_and_not_before() {
        let root = tempfile::tempdir().unwrap();
        let kept = |name: &str, until: &str| {
            let dir = root.path().join("retained/acme").join(name);
            std::fs::create_dir_all(dir.join("backups")).unwrap();
            std::fs::write(dir.join(RETAIN_UNTIL_FILE), until).unwrap();
            dir
        };
        let old = kept("old-1", "2026-12-01T00:00:00+00:00");
        let fresh = kept("fresh-2", "2026-12-20T00:00:00+00:00");
        let unreadable = kept("odd-3", "soon");
        let now: chrono::DateTime<chrono::Utc> = "2026-12-10T00:00:00Z".parse().unwrap();
        assert_eq!(expire_retained(root.path(), now).unwrap(), 1);
        assert!(!old.exists());
        assert!(fresh.exists() && unreadable.exists());
        assert_eq!(
            expire_retained(&root.path().join("nothing"), now).unwrap(),
            0
        );
    }
}
