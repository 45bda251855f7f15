//! Quota arithmetic: limits, usage, and which limits a change would exceed. The store locks the
//! tenant's quota row around this check so concurrent requests cannot exceed a limit together.

use serde::{Deserialize, Serialize};

/// A tenant's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuotaLimits {
    pub max_clusters: i32,
    pub max_instances: i32,
    /// CPU over all instances, in millicores.
    pub max_cpu_millis: i64,
    /// Memory over all instances, in MiB.
    pub max_memory_mib: i64,
    /// Storage over all instances, in GiB.
    pub max_storage_gib: i64,
}

/// Resources counted against a quota (what exists or is asked for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceUsage {
    pub clusters: i64,
    pub instances: i64,
    pub cpu_millis: i64,
    pub memory_mib: i64,
    pub storage_gib: i64,
}

impl ResourceUsage {
    pub fn plus(self, other: ResourceUsage) -> ResourceUsage {
        ResourceUsage {
            clusters: self.clusters.saturating_add(other.clusters),
            instances: self.instances.saturating_add(other.instances),
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_mib: self.memory_mib.saturating_add(other.memory_mib),
            storage_gib: self.storage_gib.saturating_add(other.storage_gib),
        }
    }

    pub fn minus(self, other: ResourceUsage) -> ResourceUsage {
        ResourceUsage {
            clusters: self.clusters.saturating_sub(other.clusters),
            instances: self.instances.saturating_sub(other.instances),
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_mib: self.memory_mib.saturating_sub(other.memory_mib),
            storage_gib: self.storage_gib.saturating_sub(other.storage_gib),
        }
    }
}

impl std::ops::Add for ResourceUsage {
    type Output = ResourceUsage;
    fn add(self, other: ResourceUsage) -> ResourceUsage {
        self.plus(other)
    }
}

impl std::ops::Sub for ResourceUsage {
    type Output = ResourceUsage;
    fn sub(self, other: ResourceUsage) -> ResourceUsage {
        self.minus(other)
    }
}

/// One limit a change would break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExceededLimit {
    /// Name of the limit, e.g. `max_instances`.
    pub limit: &'static str,
    pub allowed: i64,
    /// What usage would become.
    pub requested: i64,
}

/// The limits that `usage_after` would exceed. Only limits that grow are checked, so a tenant
/// already over a lowered limit can still shrink or leave other resources alone.
pub fn exceeded(
    limits: &QuotaLimits,
    current: ResourceUsage,
    after: ResourceUsage,
) -> Vec<ExceededLimit> {
    let checks = [
        (
            "max_clusters",
            i64::from(limits.max_clusters),
            current.clusters,
            after.clusters,
        ),
        (
            "max_instances",
            i64::from(limits.max_instances),
            current.instances,
            after.instances,
        ),
        (
            "max_cpu_millis",
            limits.max_cpu_millis,
            current.cpu_millis,
            after.cpu_millis,
        ),
        (
            "max_memory_mib",
            limits.max_memory_mib,
            current.memory_mib,
            after.memory_mib,
        ),
        (
            "max_storage_gib",
            limits.max_storage_gib,
            current.storage_gib,
            after.storage_gib,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, allowed, before, requested)| requested > before && requested > allowed)
        .map(|(limit, allowed, _, requested)| ExceededLimit {
            limit,
            allowed,
            requested,
        })
        .collect()
}

/// Why a set of limits is invalid, per field.
pub fn limits_errors(limits: &QuotaLimits) -> Vec<super::FieldError> {
    let mut errors = Vec::new();
    let fields = [
        ("max_clusters", i64::from(limits.max_clusters)),
        ("max_instances", i64::from(limits.max_instances)),
        ("max_cpu_millis", limits.max_cpu_millis),
        ("max_memory_mib", limits.max_memory_mib),
        ("max_storage_gib", limits.max_storage_gib),
    ];
    for (field, value) in fields {
        if value < 0 {
            errors.push(super::FieldError::new(field, "must not be negative"));
        }
    }
    errors
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

    fn usage(clusters: i64, instances: i64) -> ResourceUsage {
        ResourceUsage {
            clusters,
            instances,
            cpu_millis: 1000 * instances,
            memory_mib: 1024 * instances,
            storage_gib: 10 * instances,
        }
    }

    #[test]
    fn growth_within_limits_is_allowed() {
        assert!(exceeded(&limits(), usage(1, 1), usage(2, 4)).is_empty());
    }

    #[test]
    fn growth_past_a_limit_names_that_limit() {
        let over = exceeded(&limits(), usage(2, 4), usage(3, 5));
        let names: Vec<_> = over.iter().map(|e| e.limit).collect();
        assert_eq!(names, ["max_clusters", "max_instances", "max_cpu_millis"]);
        assert_eq!(over[0].requested, 3);
        assert_eq!(over[0].allowed, 2);
    }

    #[test]
    fn shrinking_is_allowed_even_when_already_over_a_lowered_limit() {
        assert!(exceeded(&limits(), usage(5, 10), usage(4, 8)).is_empty());
    }

    #[test]
    fn negative_limits_are_refused_per_field() {
        let mut l = limits();
        l.max_cpu_millis = -1;
        l.max_clusters = -3;
        let fields: Vec<_> = limits_errors(&l).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["max_clusters", "max_cpu_millis"]);
    }

    #[test]
    fn usage_adds_and_subtracts_fieldwise() {
        assert_eq!(usage(1, 2).plus(usage(1, 1)), usage(2, 3));
        assert_eq!(usage(2, 3).minus(usage(1, 1)), usage(1, 2));
    }
}
