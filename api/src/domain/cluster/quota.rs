//! What a cluster costs against a tenant's quota, and which limits a total exceeds.
//!
//! Counting rules (what exists in Kubernetes, so the namespace ResourceQuota agrees):
//! - every cluster counts 1 against `clusters`, suspended or not;
//! - a running cluster counts `instances` pods, each with its CPU and memory (request = limit);
//! - an enabled pooler adds [`POOLER_CPU_MILLIS`] and [`POOLER_MEMORY_MIB`] per replica (the
//!   PgBouncer container's fixed size); pooler pods are not instances;
//! - a suspended cluster (PGO `shutdown`: every StatefulSet and Deployment scaled to zero)
//!   counts no instances, CPU or memory, but keeps its storage;
//! - storage is every volume: one data volume per instance, plus the backup repository
//!   ([`super::manifest::backup_repo_bytes`]) while backups are enabled.
//!
//! Sidecars PGO adds (pgBackRest, exporter, the repository host) are sized by the namespace's
//! LimitRange, not here. Sizes round up to whole MiB / GiB.

pub use super::super::quota::{ExceededLimit, QuotaLimits, ResourceUsage};
use super::manifest::backup_repo_bytes;
use super::quantity::{parse_bytes, parse_cpu_millis};
use super::spec::ClusterSpec;

/// CPU of one PgBouncer pod, millicores (request = limit).
pub const POOLER_CPU_MILLIS: i64 = 100;
/// Memory of one PgBouncer pod, MiB (request = limit).
pub const POOLER_MEMORY_MIB: i64 = 128;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

impl ClusterSpec {
    /// What this cluster counts against its tenant's quota (see the module rules).
    pub fn usage(&self) -> ResourceUsage {
        let instances = i64::from(self.instances);
        let volume_gib = gib(parse_bytes(&self.storage.size).unwrap_or(0));
        let repo_gib = if self.backups.enabled {
            gib(backup_repo_bytes(self))
        } else {
            0
        };
        let storage_gib = instances
            .saturating_mul(volume_gib)
            .saturating_add(repo_gib);
        if self.suspended {
            return ResourceUsage {
                clusters: 1,
                storage_gib,
                ..ResourceUsage::default()
            };
        }
        let cpu =
            i64::try_from(parse_cpu_millis(&self.resources.cpu).unwrap_or(0)).unwrap_or(i64::MAX);
        let memory = mib(parse_bytes(&self.resources.memory).unwrap_or(0));
        let poolers = if self.pooler.enabled {
            i64::from(self.pooler.replicas)
        } else {
            0
        };
        ResourceUsage {
            clusters: 1,
            instances,
            cpu_millis: instances
                .saturating_mul(cpu)
                .saturating_add(poolers * POOLER_CPU_MILLIS),
            memory_mib: instances
                .saturating_mul(memory)
                .saturating_add(poolers * POOLER_MEMORY_MIB),
            storage_gib,
        }
    }
}

impl ResourceUsage {
    /// Every limit this usage is above, in a fixed order.
    pub fn exceeds(&self, limits: &QuotaLimits) -> Vec<ExceededLimit> {
        [
            (
                "max_clusters",
                i64::from(limits.max_clusters),
                self.clusters,
            ),
            (
                "max_instances",
                i64::from(limits.max_instances),
                self.instances,
            ),
            ("max_cpu_millis", limits.max_cpu_millis, self.cpu_millis),
            ("max_memory_mib", limits.max_memory_mib, self.memory_mib),
            ("max_storage_gib", limits.max_storage_gib, self.storage_gib),
        ]
        .into_iter()
        .filter(|(_, allowed, requested)| requested > allowed)
        .map(|(limit, allowed, requested)| ExceededLimit {
            limit,
            allowed,
            requested,
        })
        .collect()
    }
}

fn mib(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(MIB)).unwrap_or(i64::MAX)
}

fn gib(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(GIB)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
