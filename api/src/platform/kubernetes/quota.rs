//! The tenant namespace's `ResourceQuota`, derived from the tenant's pgplane quota.
//!
//! pgplane's own quota ([`QuotaLimits`], checked by the API) counts what the tenant asks for:
//! PostgreSQL containers (request = limit), PgBouncer containers and volumes. PGO adds
//! containers without explicit resources (sized by the namespace LimitRange) and pods that are
//! not instances, so the Kubernetes quota is pgplane's quota plus headroom for them:
//!
//! ```text
//! sidecars   = 4 × max_instances + 8 × max_clusters
//! requests.cpu    = max_cpu_millis + sidecars × sidecar_request.cpu    + max_clusters × pooler cpu
//! limits.cpu      = max_cpu_millis + sidecars × sidecar_limit.cpu      + max_clusters × pooler cpu
//! requests.memory = max_memory_mib + sidecars × sidecar_request.memory + max_clusters × pooler memory
//! limits.memory   = max_memory_mib + sidecars × sidecar_limit.memory   + max_clusters × pooler memory
//! requests.storage       = max_storage_gib Gi   (data volumes + backup repository, as counted)
//! persistentvolumeclaims = max_instances + max_clusters   (one data volume each, one repository)
//! pods                   = max_instances + 7 × max_clusters
//! count/postgresclusters.postgres-operator.crunchydata.com = max_clusters
//! ```
//!
//! Per instance pod, 4 sidecars: `replication-cert-copy`, `pgbackrest`, `pgbackrest-config`,
//! `exporter`. Per cluster, 8 containers in 7 pods: the repository host (1 pod, `pgbackrest` and
//! `pgbackrest-config`), two concurrent backup Jobs (1 pod and container each: the first backup
//! or a manual one can overlap a scheduled one), and `pgbouncer-config` in up to 3 PgBouncer pods
//! plus 1 surge pod of a Deployment rolling update (whose `pgbouncer` container is the
//! "pooler cpu/memory" term: pgplane's quota counts running pooler pods only). Init containers
//! add nothing: a pod's effective request is the larger of its biggest init container and the
//! sum of its containers, and PGO sizes its startup init container like the database container.
//! Finished Job pods are not counted by Kubernetes. The headroom is a worst case (backups,
//! monitoring and a 3-pod pooler on every cluster); the API's quota check stays the precise one.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::options::ContainerSize;
use crate::domain::cluster::{POOLER_CPU_MILLIS, POOLER_MEMORY_MIB};
use crate::domain::quota::QuotaLimits;

/// Sidecar containers without explicit resources in each PostgreSQL instance pod.
pub const SIDECARS_PER_INSTANCE: i64 = 4;
/// Containers without explicit resources per cluster outside instance pods.
pub const SIDECARS_PER_CLUSTER: i64 = 8;
/// Pods per cluster besides instance pods: repository host, two backup Jobs, three PgBouncer
/// pods and one rolling-update surge pod.
pub const EXTRA_PODS_PER_CLUSTER: i64 = 7;
/// The object-count quota key of PostgresClusters.
pub const CLUSTER_COUNT_KEY: &str = "count/postgresclusters.postgres-operator.crunchydata.com";

/// The hard limits of a tenant namespace, in plain units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceQuota {
    pub requests_cpu_millis: i64,
    pub limits_cpu_millis: i64,
    pub requests_memory_mib: i64,
    pub limits_memory_mib: i64,
    pub storage_gib: i64,
    pub persistent_volume_claims: i64,
    pub pods: i64,
    pub clusters: i64,
}

/// The namespace quota for `limits` (see the module formula). Negative limits count as 0.
pub fn namespace_quota(
    limits: &QuotaLimits,
    sidecar_request: ContainerSize,
    sidecar_limit: ContainerSize,
) -> NamespaceQuota {
    let clusters = i64::from(limits.max_clusters).max(0);
    let instances = i64::from(limits.max_instances).max(0);
    let sidecars = (SIDECARS_PER_INSTANCE.saturating_mul(instances))
        .saturating_add(SIDECARS_PER_CLUSTER.saturating_mul(clusters));
    let plus = |base: i64, per_sidecar: i64, per_cluster: i64| {
        base.max(0)
            .saturating_add(sidecars.saturating_mul(per_sidecar.max(0)))
            .saturating_add(clusters.saturating_mul(per_cluster))
    };
    NamespaceQuota {
        requests_cpu_millis: plus(
            limits.max_cpu_millis,
            sidecar_request.cpu_millis,
            POOLER_CPU_MILLIS,
        ),
        limits_cpu_millis: plus(
            limits.max_cpu_millis,
            sidecar_limit.cpu_millis,
            POOLER_CPU_MILLIS,
        ),
        requests_memory_mib: plus(
            limits.max_memory_mib,
            sidecar_request.memory_mib,
            POOLER_MEMORY_MIB,
        ),
        limits_memory_mib: plus(
            limits.max_memory_mib,
            sidecar_limit.memory_mib,
            POOLER_MEMORY_MIB,
        ),
        storage_gib: limits.max_storage_gib.max(0),
        persistent_volume_claims: instances.saturating_add(clusters),
        pods: instances.saturating_add(EXTRA_PODS_PER_CLUSTER.saturating_mul(clusters)),
        clusters,
    }
}

impl NamespaceQuota {
    /// `ResourceQuota.spec.hard`.
    pub fn hard(&self) -> BTreeMap<String, Quantity> {
        [
            ("requests.cpu", cpu(self.requests_cpu_millis)),
            ("limits.cpu", cpu(self.limits_cpu_millis)),
            ("requests.memory", mib(self.requests_memory_mib)),
            ("limits.memory", mib(self.limits_memory_mib)),
            ("requests.storage", format!("{}Gi", self.storage_gib)),
            (
                "persistentvolumeclaims",
                self.persistent_volume_claims.to_string(),
            ),
            ("pods", self.pods.to_string()),
            (CLUSTER_COUNT_KEY, self.clusters.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Quantity(v)))
        .collect()
    }
}

/// A CPU quantity in millicores (`1500m`).
pub fn cpu(millis: i64) -> String {
    format!("{millis}m")
}

/// A memory quantity in MiB (`512Mi`).
pub fn mib(mib: i64) -> String {
    format!("{mib}Mi")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> QuotaLimits {
        QuotaLimits {
            max_clusters: 2,
            max_instances: 4,
            max_cpu_millis: 4000,
            max_memory_mib: 8192,
            max_storage_gib: 100,
        }
    }

    const REQUEST: ContainerSize = ContainerSize {
        cpu_millis: 100,
        memory_mib: 128,
    };
    const LIMIT: ContainerSize = ContainerSize {
        cpu_millis: 500,
        memory_mib: 512,
    };

    #[test]
    fn the_quota_is_the_tenant_quota_plus_sidecar_and_surge_headroom() {
        let q = namespace_quota(&limits(), REQUEST, LIMIT);
        // sidecars = 4 × 4 + 8 × 2 = 32
        assert_eq!(q.requests_cpu_millis, 4000 + 32 * 100 + 2 * 100);
        assert_eq!(q.limits_cpu_millis, 4000 + 32 * 500 + 2 * 100);
        assert_eq!(q.requests_memory_mib, 8192 + 32 * 128 + 2 * 128);
        assert_eq!(q.limits_memory_mib, 8192 + 32 * 512 + 2 * 128);
        assert_eq!(q.storage_gib, 100);
        assert_eq!(q.persistent_volume_claims, 6);
        assert_eq!(q.pods, 4 + 7 * 2);
        assert_eq!(q.clusters, 2);
    }

    #[test]
    fn a_tenant_without_clusters_gets_a_zero_quota() {
        let zero = QuotaLimits {
            max_clusters: 0,
            max_instances: 0,
            max_cpu_millis: 0,
            max_memory_mib: 0,
            max_storage_gib: 0,
        };
        let hard = namespace_quota(&zero, REQUEST, LIMIT).hard();
        assert!(hard.values().all(|q| q.0.starts_with('0')), "{hard:?}");
    }

    #[test]
    fn negative_limits_count_as_zero() {
        let mut l = limits();
        l.max_cpu_millis = -5;
        l.max_clusters = -1;
        let q = namespace_quota(&l, REQUEST, LIMIT);
        assert_eq!(q.clusters, 0);
        assert_eq!(q.requests_cpu_millis, 16 * 100);
    }

    #[test]
    fn hard_limits_use_kubernetes_quantities_and_keys() {
        let hard = namespace_quota(&limits(), REQUEST, LIMIT).hard();
        let keys: Vec<&str> = hard.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                CLUSTER_COUNT_KEY,
                "limits.cpu",
                "limits.memory",
                "persistentvolumeclaims",
                "pods",
                "requests.cpu",
                "requests.memory",
                "requests.storage",
            ]
        );
        assert_eq!(hard["requests.cpu"].0, "7400m");
        assert_eq!(hard["requests.storage"].0, "100Gi");
    }
}
