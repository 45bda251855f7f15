//! The production platform driver: PGO `PostgresCluster`s on Kubernetes, through the real
//! `kube` client.
//!
//! A tenant is a namespace (`<prefix><tenant>`) with a ResourceQuota, a LimitRange and an
//! isolation NetworkPolicy ([`tenant`]), plus the same on the disaster-recovery site
//! (`<recovery prefix><tenant>`, possibly in another Kubernetes cluster with its own client)
//! once a cluster runs there; a cluster is one `PostgresCluster` applied from the domain
//! manifest ([`cluster`]); what PGO reports flows back through a label-selected watch
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
pub mod renewal;
pub mod resources;
pub mod retained;
pub mod rollout;
pub mod standby;
pub mod tenant;
pub mod upgrade;
pub mod volumes;
pub mod watch;

pub use options::{ClientNamespaces, ContainerSize, KubernetesOptions, RecoverySite, RemoteSite};
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

use crate::domain::cluster::{DeletionPolicy, Site};

/// The Kubernetes driver. Cheap to clone (the `kube::Client` is a handle).
#[derive(Clone)]
pub struct KubernetesPlatform {
    client: kube::Client,
    /// The recovery site's Kubernetes cluster, when it is another one.
    recovery_client: Option<kube::Client>,
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
            recovery_client: None,
            options,
            ensured: Arc::default(),
        }
    }

    /// The same driver with `client` for the recovery site, which is another Kubernetes
    /// cluster ([`options::RecoverySite::remote`]).
    pub fn with_recovery_client(mut self, client: kube::Client) -> Self {
        self.recovery_client = Some(client);
        self
    }

    /// A client for the kubeconfig context named `context` (`KUBECONFIG` or `~/.kube/config`).
    pub async fn client_for_context(context: &str) -> Result<kube::Client, kube::Error> {
        let options = kube::config::KubeConfigOptions {
            context: Some(context.to_string()),
            ..kube::config::KubeConfigOptions::default()
        };
        let config = kube::Config::from_kubeconfig(&options).await?;
        kube::Client::try_from(config)
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

    /// The home namespace of the tenant named `tenant_name`.
    pub fn tenant_namespace(&self, tenant_name: &str) -> String {
        labels::tenant_namespace(&self.options.namespace_prefix, tenant_name)
    }

    /// The namespace of the tenant named `tenant_name` on `site` (refused for the recovery site
    /// when this process has none configured).
    pub fn namespace_on(&self, site: Site, tenant_name: &str) -> Result<String, PlatformError> {
        self.options.namespace_on(site, tenant_name).ok_or_else(|| {
            PlatformError::Rejected(format!(
                "the cluster runs on the {site} site, which this process has no namespaces \
                     for (set PGPLANE_DR_NAMESPACE_PREFIX as when it was placed there)"
            ))
        })
    }

    /// The client of the Kubernetes cluster `site` is in.
    fn client_on(&self, site: Site) -> Result<&kube::Client, PlatformError> {
        let remote = self
            .options
            .recovery
            .as_ref()
            .is_some_and(|r| r.remote.is_some());
        match site {
            Site::Recovery if remote => self.recovery_client.as_ref().ok_or_else(|| {
                PlatformError::Rejected(
                    "the recovery site is another Kubernetes cluster and this process has no client for it (PGPLANE_DR_KUBE_CONTEXT)"
                        .into(),
                )
            }),
            _ => Ok(&self.client),
        }
    }

    /// The client and namespace `target` runs in.
    fn place_of(&self, target: &ClusterTarget) -> Result<(&kube::Client, String), PlatformError> {
        let namespace = self.namespace_on(target.site, &target.tenant.tenant_name)?;
        Ok((self.client_on(target.site)?, namespace))
    }

    /// For a standby, the site its source runs on (when that cluster is gone, the site a
    /// standby on `target`'s site would follow from, so the applied host stays put).
    fn source_site_of(&self, target: &ClusterTarget) -> Option<Site> {
        target.spec.standby.as_ref()?;
        let recovery = self.options.recovery.is_some();
        Some(
            target
                .source_site
                .unwrap_or_else(|| target.site.for_standby(recovery)),
        )
    }

    /// Runs `call` within [`KubernetesOptions::request_timeout`].
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, PlatformError>>,
    ) -> Result<T, PlatformError> {
        errors::within(self.options.request_timeout, what, call).await
    }

    async fn apply(&self, target: &ClusterTarget) -> Result<(), PlatformError> {
        let (client, namespace) = self.place_of(target)?;
        let (tenant, site) = (&target.tenant, target.site);
        if site != Site::Home {
            // Jobs ensure the home site; the recovery site is ensured by its clusters.
            self.ensure(tenant, site).await?;
        }
        let standby_host = self.follow_source(target, client, &namespace).await?;
        retained::clear_the_way(client, &namespace, target).await?;
        if target.generation > 1 {
            volumes::refuse_impossible_growth(client, &namespace, target).await?;
        }
        let apply = || cluster::apply(client, &namespace, standby_host.as_deref(), target);
        let applied = match apply().await {
            Ok(applied) => applied,
            Err(e) if cluster::namespace_missing(&e, &namespace) => {
                tracing::info!(%namespace, "tenant namespace missing; ensuring the tenant before applying");
                self.ensured.forget(tenant.tenant_id, site);
                self.ensure(tenant, site).await?;
                apply().await.map_err(|e| classify(&e))?
            }
            Err(e) if errors::quota_status_unknown(&e) => {
                tenant::request_quota_recount(client, &namespace).await?;
                return Err(classify(&e));
            }
            Err(e) => return Err(classify(&e)),
        };
        if target.tenant_certificates {
            let owner = cluster::owned_by(&applied);
            let at = certificates::Place {
                client,
                namespace: &namespace,
            };
            let ca_namespace = self.namespace_on(Site::Home, &tenant.tenant_name)?;
            let ca_at = certificates::Place {
                client: &self.client,
                namespace: &ca_namespace,
            };
            let policy = &self.options.certificates;
            certificates::ensure_cluster_certificates(at, ca_at, target, owner, policy).await?;
        }
        Ok(())
    }

    /// For a standby (in `namespace` of `client`'s cluster): checks that its source can be
    /// followed and returns the address it follows it at. `None` for other clusters.
    async fn follow_source(
        &self,
        target: &ClusterTarget,
        client: &kube::Client,
        namespace: &str,
    ) -> Result<Option<String>, PlatformError> {
        let (Some(standby), Some(source_site)) =
            (&target.spec.standby, self.source_site_of(target))
        else {
            return Ok(None);
        };
        let source_namespace = self.namespace_on(source_site, &target.tenant.tenant_name)?;
        let source_client = self.client_on(source_site)?;
        standby::check_source(client, namespace, source_client, &source_namespace, target).await?;
        let host =
            self.options
                .source_host(target.site, source_site, &standby.source, &source_namespace);
        Ok(Some(host))
    }

    /// [`tenant::ensure`] on `site`, skipped when this process ensured the same tenant and
    /// quota there recently.
    async fn ensure(&self, tenant: &TenantTarget, site: Site) -> Result<(), PlatformError> {
        if self.ensured.is_fresh(tenant, site) {
            return Ok(());
        }
        let client = self.client_on(site)?;
        let namespace = self.namespace_on(site, &tenant.tenant_name)?;
        match tenant::ensure(client, &self.options, tenant, site, &namespace).await {
            Ok(()) => {
                self.ensured.record(tenant, site);
                Ok(())
            }
            Err(e) => {
                self.ensured.forget(tenant.tenant_id, site);
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
        Box::pin(async move {
            let (client, namespace) = self.place_of(target)?;
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
            self.bounded(action.kind().as_str(), run).await
        })
    }

    fn backup_repository<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        Box::pin(async move {
            let (client, namespace) = self.place_of(target)?;
            let argv = ["pgbackrest", "info", "--output=json"];
            let info = exec::in_primary(client, &namespace, &target.spec.name, &argv);
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

    fn restart_flag_delay(&self) -> std::time::Duration {
        self.options.patroni_loop_wait * 2
    }

    fn rollout_pending<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        Box::pin(async move {
            let (client, namespace) = self.place_of(target)?;
            let pending = rollout::pending(client, &namespace, target);
            self.bounded("rollout_pending", pending).await
        })
    }

    fn list_extensions<'a>(
        &'a self,
        target: &'a ClusterTarget,
        database: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<InstalledExtension>>, PlatformError>> {
        Box::pin(async move {
            let (client, namespace) = self.place_of(target)?;
            let list = extensions::list(client, &namespace, target, database);
            self.bounded("list_extensions", list).await.map(Some)
        })
    }

    fn ensure_tenant<'a>(
        &'a self,
        tenant: &'a TenantTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        Box::pin(self.bounded("ensure_tenant", self.ensure(tenant, Site::Home)))
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
        let keep_backups_until =
            (target.spec.deletion_policy == DeletionPolicy::KeepBackups).then(|| {
                chrono::Duration::from_std(self.options.deleted_backups_retention)
                    .map(|kept| chrono::Utc::now() + kept)
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
            });
        Box::pin(async move {
            let (client, namespace) = self.place_of(target)?;
            let delete = cluster::delete(client, &namespace, target, keep_backups_until);
            self.bounded("delete_cluster", delete).await
        })
    }

    fn expire_retained_backups(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async move {
            let now = chrono::Utc::now();
            let mut expired = 0;
            for client in std::iter::once(&self.client).chain(&self.recovery_client) {
                let expire = retained::expire(client, now);
                expired += self.bounded("expire_retained_backups", expire).await?;
            }
            Ok(expired)
        })
    }

    fn renew_certificates(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async move {
            let now = chrono::Utc::now();
            let mut renewed = 0;
            for client in std::iter::once(&self.client).chain(&self.recovery_client) {
                let renewal = renewal::Renewal {
                    client,
                    home: &self.client,
                    options: &self.options,
                };
                renewed += renewal.run(now).await?;
            }
            Ok(renewed)
        })
    }

    fn certificate_check_every(&self) -> std::time::Duration {
        self.options.certificates.check_every()
    }

    fn watch(
        &self,
        events: mpsc::Sender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        // Each Kubernetes cluster is watched on its own; the sync tells clusters apart by id.
        let home = watch::run(self.client.clone(), events.clone(), cancel.clone());
        let Some(recovery) = self.recovery_client.clone() else {
            return Box::pin(home);
        };
        let recovery = watch::run(recovery, events, cancel);
        Box::pin(async move { tokio::try_join!(home, recovery).map(|_| ()) })
    }
}
