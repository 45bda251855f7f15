//! What the job workers and the status sync need from "the place clusters run".
//!
//! Two drivers implement [`Platform`]: `kubernetes` (production: PGO `PostgresCluster`s through
//! the real `kube` client) and `local` (PostgreSQL processes on this host, for `pgplane dev`). Drivers are
//! level-triggered: `apply_cluster` makes the platform match the *current* desired state, so
//! running it twice, late or after a crash is harmless. They never touch the metadata database;
//! what they observe flows back as [`PlatformEvent`]s to the `sync` module.

pub mod kubernetes;
pub mod local;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::cluster::{ClusterSpec, Site};
use crate::domain::quota::QuotaLimits;

/// A boxed future, so drivers can sit behind `Arc<dyn Platform>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A tenant as the platform needs it: where its clusters live and what they may use.
#[derive(Debug, Clone)]
pub struct TenantTarget {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub quota: QuotaLimits,
    /// Ids of deleted tenants that had this name: what the platform kept for them (a
    /// namespace labelled with their id) belongs to this tenant now.
    pub former_ids: Vec<Uuid>,
}

/// The desired state of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterTarget {
    pub tenant: TenantTarget,
    pub cluster_id: Uuid,
    /// pgplane's generation of the desired state; drivers record it on what they apply so the
    /// sync can tell which desired state the platform has observed.
    pub generation: i64,
    pub spec: ClusterSpec,
    /// The approved PostgreSQL image to run (`spec.image`); `None`: the operator's default.
    pub image: Option<String>,
    /// Run with server and replication certificates from the tenant's own CA, as a streaming
    /// standby and its source must (the standby authenticates with a certificate the source
    /// trusts).
    pub tenant_certificates: bool,
    /// Where the cluster runs.
    pub site: Site,
    /// For a standby, where the cluster it follows runs (`None` if that cluster is gone).
    pub source_site: Option<Site>,
}

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

/// A host and port clients connect to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// Connection facts read from the platform (e.g. PGO's user and certificate Secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionFacts {
    pub primary: Option<Endpoint>,
    pub replicas: Option<Endpoint>,
    pub pooler: Option<Endpoint>,
    /// PEM of the CA that signed the server certificates.
    pub ca_certificate: Option<String>,
    pub user: Option<String>,
    pub database: Option<String>,
    /// The owner's password.
    pub password: Option<String>,
    /// The passwords of the cluster's other roles (`spec.users` after the owner), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_passwords: BTreeMap<String, String>,
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
    /// The operator's raw status (PGO `PostgresCluster.status`), mapped by `domain::cluster::observe`.
    pub status: Option<serde_json::Value>,
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
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterAction::RotatePassword { .. } => "rotate_password",
            ClusterAction::Backup { .. } => "backup",
            ClusterAction::Restore { .. } => "restore",
            ClusterAction::Switchover { .. } => "switchover",
            ClusterAction::Upgrade { .. } => "upgrade",
            ClusterAction::MinorUpgrade { .. } => "minor_upgrade",
            ClusterAction::Extension { .. } => "extension",
            ClusterAction::Promote => "promote",
        }
    }
}

/// An extension installed in a database (`pg_extension`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct InstalledExtension {
    pub name: String,
    pub version: String,
}

/// A backup the platform finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFacts {
    pub backup_type: BackupType,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
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

    /// The PostgreSQL major a new cluster gets when its request names none, when the driver
    /// can run only some (`None`: the domain's default).
    fn default_postgres_version(&self) -> Option<u32> {
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
            let platform =
                local::LocalPlatform::start_with_retention(local_root, deleted_backups_retention)?;
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
