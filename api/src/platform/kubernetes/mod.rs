//! The production platform driver: PGO `PostgresCluster`s on Kubernetes, through the real
//! `kube` client.
//!
//! A tenant is a namespace (`<prefix><tenant>`) with a ResourceQuota, a LimitRange and an
//! isolation NetworkPolicy ([`tenant`]); a cluster is one `PostgresCluster` applied from the
//! domain manifest ([`cluster`]); what PGO reports flows back through a label-selected watch
//! ([`watch`]). Every write but a delete is a server-side apply with field manager `pgplane`,
//! forced (and strict field validation), so a job that runs twice, late or after a crash
//! converges; the one exception is documented in [`cluster`]. [`errors::classify`] is the one place
//! that decides between retrying and failing.
//!
//! The driver keeps no state between calls except the watch's in-memory caches and the tenants
//! it recently ensured ([`ensured`]), and never touches the metadata database.

pub mod actions;
pub mod certificates;
pub mod cluster;
pub mod ensured;
pub mod errors;
pub mod exec;
pub mod extensions;
pub mod labels;
pub mod minor_upgrade;
pub mod network;
pub mod options;
pub mod quota;
pub mod resources;
pub mod retained;
pub mod standby;
pub mod tenant;
pub mod upgrade;
pub mod watch;

pub use options::{ClientNamespaces, ContainerSize, KubernetesOptions};
pub use resources::postgrescluster;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    ActionProgress, BoxFuture, ClusterAction, ClusterTarget, DeleteProgress, InstalledExtension,
    Platform, PlatformError, PlatformEvent, TenantTarget,
};
use errors::classify;

use crate::domain::cluster::DeletionPolicy;

/// The Kubernetes driver. Cheap to clone (the `kube::Client` is a handle).
#[derive(Clone)]
pub struct KubernetesPlatform {
    client: kube::Client,
    options: KubernetesOptions,
    ensured: Arc<ensured::EnsuredTenants>,
}

impl std::fmt::Debug for KubernetesPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesPlatform")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl KubernetesPlatform {
    /// A driver talking through `client`.
    pub fn new(client: kube::Client, options: KubernetesOptions) -> Self {
        Self {
            client,
            options,
            ensured: Arc::default(),
        }
    }

    /// A driver for the cluster this process runs in (service account) or, outside a cluster,
    /// the `KUBECONFIG` / `~/.kube/config` context (`kube::Config::infer`).
    pub async fn from_environment(options: KubernetesOptions) -> Result<Self, kube::Error> {
        let config = kube::Config::infer()
            .await
            .map_err(kube::Error::InferConfig)?;
        let client = kube::Client::try_from(config)?;
        Ok(Self::new(client, options))
    }

    /// The client requests go through.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The options in use.
    pub fn options(&self) -> &KubernetesOptions {
        &self.options
    }

    /// The namespace of the tenant named `tenant_name`.
    pub fn tenant_namespace(&self, tenant_name: &str) -> String {
        labels::tenant_namespace(&self.options.namespace_prefix, tenant_name)
    }

    /// Runs `call` within [`KubernetesOptions::request_timeout`].
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, PlatformError>>,
    ) -> Result<T, PlatformError> {
        let limit = self.options.request_timeout;
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(PlatformError::Transient(format!(
                "{what} did not finish within {} ms",
                limit.as_millis()
            )))
        })
    }

    async fn apply(&self, target: &ClusterTarget) -> Result<(), PlatformError> {
        let namespace = self.tenant_namespace(&target.tenant.tenant_name);
        standby::check_source(&self.client, &namespace, target).await?;
        let applied = match cluster::apply(&self.client, &namespace, target).await {
            Ok(applied) => applied,
            Err(e) if cluster::namespace_missing(&e, &namespace) => {
                tracing::info!(%namespace, "tenant namespace missing; ensuring the tenant before applying");
                self.ensured.forget(target.tenant.tenant_id);
                self.ensure(&target.tenant).await?;
                cluster::apply(&self.client, &namespace, target)
                    .await
                    .map_err(|e| classify(&e))?
            }
            Err(e) => return Err(classify(&e)),
        };
        if target.tenant_certificates {
            let owner = cluster::owned_by(&applied);
            certificates::ensure_cluster_certificates(&self.client, &namespace, target, owner)
                .await?;
        }
        Ok(())
    }

    /// [`tenant::ensure`], skipped when this process ensured the same tenant and quota recently.
    async fn ensure(&self, tenant: &TenantTarget) -> Result<(), PlatformError> {
        if self.ensured.is_fresh(tenant) {
            return Ok(());
        }
        match tenant::ensure(&self.client, &self.options, tenant).await {
            Ok(()) => {
                self.ensured.record(tenant);
                Ok(())
            }
            Err(e) => {
                self.ensured.forget(tenant.tenant_id);
                Err(e)
            }
        }
    }
}

impl Platform for KubernetesPlatform {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn unsupported_action(&self, _action: &ClusterAction) -> Option<String> {
        None
    }

    fn run_action<'a>(
        &'a self,
        target: &'a ClusterTarget,
        action: &'a ClusterAction,
        operation_id: uuid::Uuid,
    ) -> BoxFuture<'a, Result<ActionProgress, PlatformError>> {
        let namespace = self.tenant_namespace(&target.tenant.tenant_name);
        Box::pin(async move {
            let client = &self.client;
            let ns = namespace.as_str();
            let run = async {
                match action {
                    ClusterAction::Backup { backup_type } => {
                        actions::backup(client, ns, target, *backup_type, operation_id).await
                    }
                    ClusterAction::Restore { target_time } => {
                        actions::restore(client, ns, target, *target_time, operation_id).await
                    }
                    ClusterAction::Switchover { target_instance } => {
                        actions::switchover(
                            client,
                            ns,
                            target,
                            target_instance.as_deref(),
                            operation_id,
                        )
                        .await
                    }
                    ClusterAction::RotatePassword { user } => {
                        actions::rotate_password(client, ns, target, user, operation_id).await
                    }
                    ClusterAction::Upgrade {
                        to_version,
                        to_image,
                    } => {
                        let to_image = to_image.as_deref();
                        upgrade::upgrade(client, ns, target, *to_version, to_image, operation_id)
                            .await
                    }
                    ClusterAction::MinorUpgrade {
                        from_image,
                        to_image,
                    } => {
                        let from_image = from_image.as_deref();
                        minor_upgrade::run(client, ns, target, from_image, to_image, operation_id)
                            .await
                    }
                    ClusterAction::Extension {
                        database,
                        name,
                        enable,
                    } => extensions::set(client, ns, target, database, name, *enable).await,
                    ClusterAction::Promote => standby::promote(client, ns, target).await,
                }
            };
            self.bounded(action.kind(), run).await
        })
    }

    fn backup_repository<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        let namespace = self.tenant_namespace(&target.tenant.tenant_name);
        Box::pin(async move {
            let argv = ["pgbackrest", "info", "--output=json"];
            let info = exec::in_primary(&self.client, &namespace, &target.spec.name, &argv);
            let output = self.bounded("pgbackrest info", info).await?;
            if output.exit_code != 0 {
                return Err(PlatformError::Transient(format!(
                    "pgbackrest info failed: {}",
                    output.failure()
                )));
            }
            Ok(Some(output.stdout))
        })
    }

    fn list_extensions<'a>(
        &'a self,
        target: &'a ClusterTarget,
        database: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<InstalledExtension>>, PlatformError>> {
        let namespace = self.tenant_namespace(&target.tenant.tenant_name);
        Box::pin(async move {
            let list = extensions::list(&self.client, &namespace, target, database);
            self.bounded("list_extensions", list).await.map(Some)
        })
    }

    fn ensure_tenant<'a>(
        &'a self,
        tenant: &'a TenantTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        Box::pin(self.bounded("ensure_tenant", self.ensure(tenant)))
    }

    /// Ensures the tenant itself when its namespace is missing; callers need not order
    /// `ensure_tenant` first (they should still call it when the quota changes).
    fn apply_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        Box::pin(self.bounded("apply_cluster", self.apply(target)))
    }

    fn delete_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<DeleteProgress, PlatformError>> {
        let namespace = self.tenant_namespace(&target.tenant.tenant_name);
        let keep_backups_until =
            (target.spec.deletion_policy == DeletionPolicy::KeepBackups).then(|| {
                chrono::Duration::from_std(self.options.deleted_backups_retention)
                    .map(|kept| chrono::Utc::now() + kept)
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
            });
        Box::pin(async move {
            let delete = cluster::delete(&self.client, &namespace, target, keep_backups_until);
            self.bounded("delete_cluster", delete).await
        })
    }

    fn expire_retained_backups(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async move {
            let expire = retained::expire(&self.client, chrono::Utc::now());
            self.bounded("expire_retained_backups", expire).await
        })
    }

    fn watch(
        &self,
        events: mpsc::Sender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        Box::pin(watch::run(self.client.clone(), events, cancel))
    }
}
