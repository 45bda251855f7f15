//! What the job workers and the status sync need from "the place clusters run".
//!
//! Two drivers implement [`Platform`]: `kubernetes` (production: PGO `PostgresCluster`s through
//! the real `kube` client) and `local` (PostgreSQL processes on this host, for `pgplane dev`). Drivers are
//! level-triggered: `apply_cluster` makes the platform match the *current* desired state, so
//! running it twice, late or after a crash is harmless. They never touch the metadata database;
//! what they observe flows back as [`PlatformEvent`]s to the `sync` module.

pub mod certificate_policy;
pub mod kubernetes;
pub mod local;

pub use certificate_policy::CertificatePolicy;

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::cluster::ClusterSpec;

// The vocabulary drivers share with the rest of pgplane lives in the domain; re-exported here
// because every driver speaks it.
pub use crate::domain::cluster::{
    BackupFacts, BackupType, CertificateFacts, ClusterAction, ClusterTarget, ConnectionFacts,
    Endpoint, InstalledExtension, TenantTarget,
};

/// A boxed future, so drivers can sit behind `Arc<dyn Platform>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a deletion stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteProgress {
    /// Nothing of the cluster is left on the platform.
    Gone,
    /// Deletion was requested; the platform is still removing it.
    Deleting { waiting_for: String },
}

/// Why a platform call failed; decides between retrying and failing the operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlatformError {
    /// Worth retrying with backoff: timeouts, 5xx, 429, conflicts, connection errors.
    #[error("platform temporarily unavailable: {0}")]
    Transient(String),
    /// The platform refused the desired state (e.g. 422 Invalid, 403): retrying cannot help.
    #[error("platform refused the request: {0}")]
    Rejected(String),
    /// The platform cannot take it *yet* and will be able to without anyone's help (e.g. a
    /// Kubernetes quota controller that has not counted a new resource type): the operation
    /// waits, within its deadline, without spending its retries.
    #[error("platform not ready for it yet: {0}")]
    NotYet(String),
}

/// What the platform reports about one cluster pgplane manages.
#[derive(Debug, Clone)]
pub struct ObservedCluster {
    pub tenant_id: Uuid,
    pub cluster_id: Uuid,
    /// The pgplane generation recorded on the applied object.
    pub applied_generation: Option<i64>,
    /// The platform object's own generation (Kubernetes `metadata.generation`).
    pub object_generation: i64,
    /// True when the operator has acted on everything applied (PGO: `status.observedGeneration`
    /// equals `metadata.generation`).
    pub caught_up: bool,
    /// What the platform says about the cluster's running state (the Kubernetes driver reads
    /// it from PGO's `PostgresCluster.status`), mapped to a phase by `domain::cluster::observe`.
    pub report: crate::domain::cluster::Report,
    pub deleting: bool,
    pub connection: ConnectionFacts,
}

/// One message from a platform watch.
#[derive(Debug, Clone)]
pub enum PlatformEvent {
    Observed(Box<ObservedCluster>),
    Gone {
        tenant_id: Uuid,
        cluster_id: Uuid,
    },
    /// Every existing cluster has been reported once since the watch (re)started; clusters the
    /// sync expected but did not hear about are gone.
    Resynced,
}

/// Where a day-2 action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionProgress {
    /// Finished. A driver that changed the connection facts (a rotated owner password) returns
    /// them, so the operation ends only once clients can read the new ones; a backup returns
    /// what it took.
    Done {
        /// Boxed: rarely set, and large next to the other variant.
        connection: Option<Box<ConnectionFacts>>,
        backup: Option<BackupFacts>,
    },
    /// Started; the platform is still carrying it out (asked again at the next recheck).
    Waiting(String),
}

impl ActionProgress {
    pub fn done() -> Self {
        ActionProgress::Done {
            connection: None,
            backup: None,
        }
    }
}

/// The driver interface.
pub trait Platform: Send + Sync + 'static {
    /// Driver name for logs and metrics (`kubernetes`, `local`).
    fn name(&self) -> &'static str;

    /// Why the driver cannot carry out `action` (the API answers 501 with it), if it cannot.
    fn unsupported_action(&self, action: &ClusterAction) -> Option<String>;

    /// The PostgreSQL majors the driver can run, oldest first, when it can run only some
    /// (`None`: every version the domain accepts).
    fn postgres_versions(&self) -> Option<Vec<u32>> {
        None
    }

    /// The PostgreSQL major a new cluster gets when its request names none, when the driver
    /// can run only some (`None`: the domain's default).
    fn default_postgres_version(&self) -> Option<u32> {
        None
    }

    /// The PostgreSQL images the platform runs by itself, one per major, when the platform
    /// team approves none (the local platform names its installed servers' versions, so a
    /// newer minor version installed on the host is a minor upgrade).
    fn own_images(&self) -> Option<crate::domain::cluster::images::ImageCatalog> {
        None
    }

    /// Why the driver cannot run a cluster like `spec` (e.g. a feature it lacks), if it cannot.
    fn unsupported_features(&self, spec: &ClusterSpec) -> Option<String> {
        let _ = spec;
        None
    }

    /// Carries out (or checks on) a day-2 action; called again at each recheck until it is
    /// done, so it must be idempotent. `operation_id` is unique per request: drivers use it as
    /// the trigger value (PGO acts on an annotation only when its value changes).
    fn run_action<'a>(
        &'a self,
        target: &'a ClusterTarget,
        action: &'a ClusterAction,
        operation_id: uuid::Uuid,
    ) -> BoxFuture<'a, Result<ActionProgress, PlatformError>>;

    /// The extensions installed in `database` of the running cluster, or `None` when the driver
    /// cannot look inside its clusters.
    fn list_extensions<'a>(
        &'a self,
        target: &'a ClusterTarget,
        database: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<InstalledExtension>>, PlatformError>> {
        let _ = (target, database);
        Box::pin(async { Ok(None) })
    }

    /// What the cluster's backup repository holds, as `pgbackrest info --output=json` prints it
    /// (read by `domain::cluster::repository`), or `None` when the driver keeps no pgBackRest
    /// repository (its backups are the ones pgplane recorded taking).
    fn backup_repository<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        let _ = target;
        Box::pin(async { Ok(None) })
    }

    /// What the cluster's rollout of the applied spec still waits for, once the operator
    /// reported it observed and settled, or `None` when what runs is what was applied (the
    /// Kubernetes driver checks the instances' StatefulSet revisions and Pods, which PGO's
    /// status can report too early). Drivers that change their clusters synchronously keep the
    /// default.
    fn rollout_pending<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        let _ = target;
        Box::pin(async { Ok(None) })
    }

    /// How long after the operator observed a change of parameters that need a restart the
    /// platform may still not show that restart as pending (Kubernetes: Patroni flags it up to
    /// two `loop_wait`s after PGO wrote the configuration). An update changing such parameters
    /// is not done before this much time has passed since it was applied.
    fn restart_flag_delay(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Deletes the backups kept after their cluster's deletion (`deletion_policy:
    /// keep_backups`) once their retention is over; returns how many. Run by the status sync
    /// leader now and then.
    fn expire_retained_backups(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async { Ok(0) })
    }

    /// Renews the cluster certificates pgplane issued that are due under the configured
    /// [`CertificatePolicy`]; returns how many it renewed. Run by the status sync leader every
    /// [`CertificatePolicy::check_every`]; a failure is reported in the cluster's
    /// [`CertificateFacts`] through the watch. Drivers that renew in their own loop (the local
    /// supervisor) keep the default.
    fn renew_certificates(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async { Ok(0) })
    }

    /// How often [`Platform::renew_certificates`] is worth calling.
    fn certificate_check_every(&self) -> std::time::Duration {
        CertificatePolicy::default().check_every()
    }

    /// Makes the tenant's space on the platform exist and match its quota (idempotent).
    fn ensure_tenant<'a>(
        &'a self,
        tenant: &'a TenantTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>>;

    /// Makes the cluster match `target` (idempotent, level-triggered).
    fn apply_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>>;

    /// Requests deletion of the cluster and reports whether it is gone yet (idempotent).
    fn delete_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<DeleteProgress, PlatformError>>;

    /// Streams what the platform observes until `cancel` fires. Starts with (and repeats after
    /// any reconnection) a full resync ending in [`PlatformEvent::Resynced`].
    fn watch(
        &self,
        events: mpsc::Sender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<(), PlatformError>>;

    /// Called once when the process shuts down cleanly, after workers and sync have stopped
    /// (the local driver stops its servers; remote platforms have nothing to do).
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The configured driver, or `None` for an API-only process. `auto` means Kubernetes when it
/// is configured, otherwise `auto_fallback` (`none` for `serve`, `local` for `dev`); the local
/// driver keeps its clusters under `local_root`; `jobs` carries both drivers' settings.
pub async fn connect(
    kind: crate::config::PlatformKind,
    auto_fallback: crate::config::PlatformKind,
    local_root: &std::path::Path,
    jobs: &crate::config::JobsConfig,
) -> anyhow::Result<Option<std::sync::Arc<dyn Platform>>> {
    use crate::config::PlatformKind;
    let deleted_backups_retention = jobs.deleted_backups_retention();
    let kind = match kind {
        PlatformKind::Auto if kubernetes_configured() => PlatformKind::Kubernetes,
        PlatformKind::Auto => auto_fallback,
        explicit => explicit,
    };
    match kind {
        PlatformKind::Local => {
            let options = local::LocalOptions {
                retention: deleted_backups_retention,
                certificates: jobs.certificate_policy(),
                ..local::LocalOptions::default()
            };
            let platform = local::LocalPlatform::start_with_options(local_root, options)?;
            tracing::info!(root = %local_root.display(), "platform: local (PostgreSQL processes on this host)");
            Ok(Some(platform))
        }
        PlatformKind::Kubernetes => {
            let platform =
                kubernetes::KubernetesPlatform::from_environment(jobs.kubernetes_options())
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "connecting to Kubernetes (in-cluster config or KUBECONFIG): {e}"
                        )
                    })?;
            tracing::info!("platform: kubernetes (PGO)");
            Ok(Some(std::sync::Arc::new(platform)))
        }
        _ => {
            tracing::warn!(
                "no platform driver (PGPLANE_PLATFORM=none, or no Kubernetes configuration found): operations wait for a process that has one"
            );
            Ok(None)
        }
    }
}

/// True when running inside a cluster or a kubeconfig is available.
fn kubernetes_configured() -> bool {
    let home_config =
        std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".kube/config"));
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        || std::env::var_os("KUBECONFIG").is_some()
        || home_config.is_some_and(|p| p.is_file())
}
