//! How the Kubernetes driver lays tenants out: namespace naming, who may reach the databases,
//! and the size of containers PGO creates without explicit resources.

use std::time::Duration;

use super::labels::tenant_namespace;
use crate::domain::cluster::Site;
use crate::domain::cluster::naming::{primary_service_host, primary_service_name};

/// Options of [`super::KubernetesPlatform`]; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// Tenant namespaces are `<prefix><tenant name>` (see [`super::labels::tenant_namespace`]).
    /// Default `pgplane-`.
    pub namespace_prefix: String,
    /// Namespace PGO runs in; its pods may reach every port of tenant pods (Patroni, pgBackRest,
    /// PostgreSQL). Default `postgres-operator`.
    pub operator_namespace: String,
    /// Which namespaces' pods may connect to a tenant's PostgreSQL and PgBouncer ports.
    pub client_namespaces: ClientNamespaces,
    /// Namespace of the metrics scraper allowed to reach the exporter port, if any.
    pub monitoring_namespace: Option<String>,
    /// LimitRange `defaultRequest` for containers without resources (PGO sidecars, backup Jobs).
    pub sidecar_request: ContainerSize,
    /// LimitRange `default` (limit) for containers without resources.
    pub sidecar_limit: ContainerSize,
    /// Upper bound of one `ensure_tenant`, `apply_cluster` or `delete_cluster` call, including
    /// the retries the `kube` client makes on 429/503/504 by itself; past it the call is
    /// `Transient`. (kube sets no read timeout by default.) Default 30 s.
    pub request_timeout: Duration,
    /// How long the backup repository of a cluster deleted with `deletion_policy:
    /// keep_backups` is kept (see [`super::retained`]). Default 7 days.
    pub deleted_backups_retention: Duration,
    /// The disaster-recovery site, if there is one (clusters on [`Site::Recovery`]). Default
    /// none.
    pub recovery: Option<RecoverySite>,
    /// Patroni's `loop_wait` in PGO's clusters (`spec.patroni.syncPeriodSeconds`, which pgplane
    /// leaves at PGO's default, 10 s): Patroni takes up to one to load a new configuration and
    /// flag a restart it needs, the primary one more (see [`super::rollout`]).
    pub patroni_loop_wait: Duration,
    /// How long the certificates pgplane issues (tenant-CA clusters) live and when they are
    /// renewed (see [`super::renewal`]). Default 90 days.
    pub certificates: crate::platform::CertificatePolicy,
}

/// Where clusters on the recovery site run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverySite {
    /// Their namespaces are `<prefix><tenant name>`.
    pub namespace_prefix: String,
    /// Set when the recovery site is another Kubernetes cluster (the driver then has a second
    /// client for it).
    pub remote: Option<RemoteSite>,
}

/// How the two sites reach each other when they are separate Kubernetes clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSite {
    /// DNS domain under which one cluster's Services are resolvable from the other, as
    /// `<service>.<namespace>.<domain>`: `svc.clusterset.local` with the Kubernetes
    /// Multi-Cluster Services API (Submariner, Cilium ClusterMesh, GKE and others) exporting
    /// the primary Services.
    pub service_domain: String,
    /// Address ranges (CIDR) the other site's pods connect from; the tenant namespaces admit
    /// them to the `postgres` port (a namespace selector cannot name another cluster's pods).
    pub peer_cidrs: Vec<String>,
}

impl Default for KubernetesOptions {
    fn default() -> Self {
        Self {
            namespace_prefix: "pgplane-".into(),
            operator_namespace: "postgres-operator".into(),
            client_namespaces: ClientNamespaces::default(),
            monitoring_namespace: None,
            sidecar_request: ContainerSize {
                cpu_millis: 100,
                memory_mib: 128,
            },
            sidecar_limit: ContainerSize {
                cpu_millis: 500,
                memory_mib: 512,
            },
            request_timeout: Duration::from_secs(30),
            deleted_backups_retention: Duration::from_secs(7 * 24 * 3600),
            recovery: None,
            patroni_loop_wait: Duration::from_secs(10),
            certificates: crate::platform::CertificatePolicy::default(),
        }
    }
}

impl KubernetesOptions {
    /// The namespace of tenant `tenant_name` on `site`; `None` for the recovery site when none
    /// is configured (a cluster placed there must never move home silently).
    pub fn namespace_on(&self, site: Site, tenant_name: &str) -> Option<String> {
        let prefix = match site {
            Site::Home => &self.namespace_prefix,
            Site::Recovery => &self.recovery.as_ref()?.namespace_prefix,
        };
        Some(tenant_namespace(prefix, tenant_name))
    }

    /// Who on the other site may reach the tenant's PostgreSQL on `site` (its standbys stream
    /// from here, or a cluster here follows one there): the tenant's namespace there in the
    /// same Kubernetes cluster, or the configured address ranges of another one. `None`
    /// without a recovery site.
    pub fn peer_on_other_site(&self, site: Site, tenant_name: &str) -> Option<Peer> {
        let recovery = self.recovery.as_ref()?;
        Some(match &recovery.remote {
            None => Peer::Namespace(self.namespace_on(site.for_standby(true), tenant_name)?),
            Some(remote) => Peer::Addresses(remote.peer_cidrs.clone()),
        })
    }

    /// The address a standby on `site` follows its source `cluster` at, in `source_namespace`
    /// on `source_site`: the primary Service, through the cross-cluster domain when the two
    /// sites are separate Kubernetes clusters.
    pub fn source_host(
        &self,
        site: Site,
        source_site: Site,
        cluster: &str,
        source_namespace: &str,
    ) -> String {
        let remote = self.recovery.as_ref().and_then(|r| r.remote.as_ref());
        match remote {
            Some(remote) if site != source_site => format!(
                "{}.{source_namespace}.{}",
                primary_service_name(cluster),
                remote.service_domain
            ),
            _ => primary_service_host(cluster, source_namespace),
        }
    }
}

/// The other site's clients of a tenant namespace (see [`KubernetesOptions::peer_on_other_site`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Namespace(String),
    Addresses(Vec<String>),
}

/// The namespaces whose pods may open connections to a tenant's databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientNamespaces {
    /// Namespaces labelled `<key>=<tenant name>` reach that tenant's databases only.
    LabelledWithTenant { key: String },
    /// Namespaces labelled `<key>=<value>` reach every tenant's databases.
    Labelled { key: String, value: String },
}

impl Default for ClientNamespaces {
    /// `pgplane.io/client-of=<tenant name>`.
    fn default() -> Self {
        Self::LabelledWithTenant {
            key: "pgplane.io/client-of".into(),
        }
    }
}

impl ClientNamespaces {
    /// The `(key, value)` namespace label that admits clients of `tenant_name`.
    pub fn label_for(&self, tenant_name: &str) -> (String, String) {
        match self {
            Self::LabelledWithTenant { key } => (key.clone(), tenant_name.to_string()),
            Self::Labelled { key, value } => (key.clone(), value.clone()),
        }
    }
}

/// CPU and memory of one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSize {
    /// Millicores.
    pub cpu_millis: i64,
    /// MiB.
    pub memory_mib: i64,
}
