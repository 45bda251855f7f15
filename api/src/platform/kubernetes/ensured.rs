//! Which tenants' namespaces (per site) this process has recently made match their desired
//! state, so that every create or update does not repeat the namespace GET and the four applies
//! of [`super::tenant::ensure`] (five Kubernetes calls in front of the one that matters).
//!
//! An entry holds the exact [`TenantTarget`] that was applied: a quota change (or a rename)
//! misses the cache and applies again. Entries expire after [`ENSURED_FOR`], so an object
//! removed out of band is put back within that time, and the driver forgets a tenant when its
//! namespace turns out to be missing. Losing the cache (a restart) only costs one ensure per
//! tenant.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::cluster::Site;
use crate::platform::TenantTarget;

/// How long an ensured tenant is trusted before its objects are applied again.
pub const ENSURED_FOR: Duration = Duration::from_secs(300);

/// Tenants ensured by this process, by tenant id and site.
#[derive(Debug, Default)]
pub struct EnsuredTenants {
    entries: Mutex<HashMap<(Uuid, Site), (TenantFingerprint, Instant)>>,
}

/// What was applied for a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TenantFingerprint {
    name: String,
    quota: crate::domain::quota::QuotaLimits,
}

fn fingerprint(tenant: &TenantTarget) -> TenantFingerprint {
    TenantFingerprint {
        name: tenant.tenant_name.clone(),
        quota: tenant.quota,
    }
}

impl EnsuredTenants {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Site), (TenantFingerprint, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `tenant`, exactly as given, was ensured on `site` less than [`ENSURED_FOR`] ago.
    pub fn is_fresh(&self, tenant: &TenantTarget, site: Site) -> bool {
        self.lock()
            .get(&(tenant.tenant_id, site))
            .is_some_and(|(seen, at)| *seen == fingerprint(tenant) && at.elapsed() < ENSURED_FOR)
    }

    /// Records that `tenant` was just ensured on `site`.
    pub fn record(&self, tenant: &TenantTarget, site: Site) {
        self.lock().insert(
            (tenant.tenant_id, site),
            (fingerprint(tenant), Instant::now()),
        );
    }

    /// Forgets `tenant` on `site` (its namespace is gone, or ensuring it failed).
    pub fn forget(&self, tenant_id: Uuid, site: Site) {
        self.lock().remove(&(tenant_id, site));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quota::QuotaLimits;

    fn tenant() -> TenantTarget {
        TenantTarget {
            tenant_id: Uuid::from_u128(1),
            tenant_name: "acme".into(),
            quota: QuotaLimits {
                max_clusters: 1,
                max_instances: 3,
                max_cpu_millis: 3000,
                max_memory_mib: 6144,
                max_storage_gib: 50,
            },
            former_ids: Vec::new(),
        }
    }

    #[test]
    fn a_recorded_tenant_is_fresh_until_its_quota_changes_or_it_is_forgotten() {
        let ensured = EnsuredTenants::default();
        assert!(!ensured.is_fresh(&tenant(), Site::Home));
        ensured.record(&tenant(), Site::Home);
        assert!(ensured.is_fresh(&tenant(), Site::Home));
        assert!(
            !ensured.is_fresh(&tenant(), Site::Recovery),
            "each site is ensured on its own"
        );
        let mut bigger = tenant();
        bigger.quota.max_clusters = 2;
        assert!(
            !ensured.is_fresh(&bigger, Site::Home),
            "a quota change applies again"
        );
        ensured.forget(tenant().tenant_id, Site::Home);
        assert!(!ensured.is_fresh(&tenant(), Site::Home));
    }
}
