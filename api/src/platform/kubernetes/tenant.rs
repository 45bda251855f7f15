//! The tenant's space on Kubernetes: a namespace with a `ResourceQuota` mirroring the tenant's
//! quota, a `LimitRange` sizing containers PGO creates without resources (a ResourceQuota on
//! cpu/memory refuses pods whose containers declare none), and the isolation `NetworkPolicy`.
//!
//! [`ensure`] refuses to adopt a namespace pgplane does not manage or that belongs to another
//! tenant (a GET before the applies), then server-side applies the four objects with field
//! manager `pgplane`, forced, in that order (the namespace must exist for the others).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, PersistentVolumeClaim, ResourceQuota,
    ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams};

use super::errors::classify;
use super::labels::{self, MANAGED_BY, MANAGED_BY_VALUE, TENANT_ID, TENANT_NAME};
use super::network::network_policy;
use super::options::{ContainerSize, KubernetesOptions};
use super::quota::{cpu, mib, namespace_quota};
use super::retained::RETAINED;
use crate::domain::cluster::{Site, parse_bytes};
use crate::platform::{PlatformError, TenantTarget};

/// Name of the ResourceQuota in every tenant namespace.
pub const QUOTA_NAME: &str = "pgplane-tenant-quota";
/// Name of the LimitRange in every tenant namespace.
pub const LIMIT_RANGE_NAME: &str = "pgplane-container-defaults";

/// The labels of everything the driver creates for `tenant`.
pub fn tenant_labels(tenant: &TenantTarget) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
        (TENANT_ID.to_string(), tenant.tenant_id.to_string()),
        (TENANT_NAME.to_string(), tenant.tenant_name.clone()),
    ])
}

fn meta(name: &str, namespace: Option<&str>, tenant: &TenantTarget) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(String::from),
        labels: Some(tenant_labels(tenant)),
        ..ObjectMeta::default()
    }
}

/// The tenant's namespace.
pub fn namespace(name: &str, tenant: &TenantTarget) -> Namespace {
    Namespace {
        metadata: meta(name, None, tenant),
        ..Namespace::default()
    }
}

/// Volume claims in the namespace kept after their cluster's deletion: the quota makes room
/// for them, so backups a tenant chose to keep never eat into what it may run now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetainedUsage {
    pub claims: i64,
    pub storage_gib: i64,
}

impl RetainedUsage {
    /// What `claims` (the retained ones) hold: their count and requested storage in GiB,
    /// rounded up (a claim whose request cannot be read adds to the count only).
    pub fn of(claims: &[PersistentVolumeClaim]) -> RetainedUsage {
        let bytes: u64 = claims
            .iter()
            .filter_map(|c| c.spec.as_ref()?.resources.as_ref()?.requests.as_ref())
            .filter_map(|r| r.get("storage"))
            .filter_map(|q| parse_bytes(&q.0).ok())
            .sum();
        let gib = bytes.div_ceil(1 << 30);
        RetainedUsage {
            claims: i64::try_from(claims.len()).unwrap_or(i64::MAX),
            storage_gib: i64::try_from(gib).unwrap_or(i64::MAX),
        }
    }
}

/// The tenant's ResourceQuota (formula in [`super::quota`]), plus room for the claims
/// `retained` after clusters' deletion.
pub fn resource_quota(
    namespace: &str,
    tenant: &TenantTarget,
    options: &KubernetesOptions,
    retained: RetainedUsage,
) -> ResourceQuota {
    let mut hard = namespace_quota(
        &tenant.quota,
        options.sidecar_request,
        options.sidecar_limit,
    );
    hard.storage_gib = hard.storage_gib.saturating_add(retained.storage_gib);
    hard.persistent_volume_claims = hard
        .persistent_volume_claims
        .saturating_add(retained.claims);
    ResourceQuota {
        metadata: meta(QUOTA_NAME, Some(namespace), tenant),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard.hard()),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    }
}

fn size(s: ContainerSize) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu(s.cpu_millis))),
        ("memory".to_string(), Quantity(mib(s.memory_mib))),
    ])
}

/// The tenant's LimitRange: container defaults only, no min/max (pgplane's quota bounds sizes).
pub fn limit_range(
    namespace: &str,
    tenant: &TenantTarget,
    options: &KubernetesOptions,
) -> LimitRange {
    LimitRange {
        metadata: meta(LIMIT_RANGE_NAME, Some(namespace), tenant),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: Some(size(options.sidecar_limit)),
                default_request: Some(size(options.sidecar_request)),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

/// The tenant's isolation policy on `site` (see [`super::network`]).
pub fn isolation_policy(
    namespace: &str,
    site: Site,
    tenant: &TenantTarget,
    options: &KubernetesOptions,
) -> NetworkPolicy {
    let peer = options.peer_on_other_site(site, &tenant.tenant_name);
    network_policy(
        namespace,
        peer.as_ref(),
        &tenant.tenant_name,
        tenant_labels(tenant),
        options,
    )
}

/// Why an existing namespace must not be adopted for `tenant`, if it must not.
pub fn foreign_namespace(existing: &Namespace, tenant: &TenantTarget) -> Option<String> {
    let name = existing.metadata.name.as_deref().unwrap_or_default();
    let labels = existing.metadata.labels.clone().unwrap_or_default();
    if labels.get(MANAGED_BY).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return Some(format!(
            "namespace {name} exists and is not managed by pgplane (no {MANAGED_BY}={MANAGED_BY_VALUE} label)"
        ));
    }
    let owner = labels.get(TENANT_ID).map(String::as_str);
    let expected = tenant.tenant_id.to_string();
    // A deleted tenant of the same name: its namespace is this tenant's now (tenant names are
    // unique among live tenants; the API deletes a tenant only without clusters or retained
    // backups, so nothing of the old one can be reached through it).
    let former = |id: &str| tenant.former_ids.iter().any(|f| f.to_string() == id);
    match owner {
        Some(id) if id != expected && !former(id) => Some(format!(
            "namespace {name} belongs to another tenant ({TENANT_ID}={id})"
        )),
        _ => None,
    }
}

/// Makes the quota controller count the namespace's usage again now. Kubernetes' `resourcequota`
/// controller queues a quota on an update only when its `spec.hard` changes (`updateQuota`; a
/// label or annotation does not do it, checked on a real kube-apiserver in the envtest tier),
/// and otherwise recounts a quota missing the usage of a newly served resource only at its
/// full resync (5 minutes by default), while admission refuses every create of that resource
/// ("status unknown for quota"). So a limit on a resource nothing creates is added to
/// `spec.hard` and removed again: two changes, each queueing a recount, and the quota ends as
/// the tenant's.
pub async fn request_quota_recount(client: &kube::Client, ns: &str) -> Result<(), PlatformError> {
    let quotas = Api::<ResourceQuota>::namespaced(client.clone(), ns);
    for value in [serde_json::json!("0"), serde_json::Value::Null] {
        let patch = serde_json::json!({"spec": {"hard": {RECOUNT_KEY: value}}});
        quotas
            .patch(QUOTA_NAME, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| classify(&e))?;
    }
    tracing::info!(namespace = %ns, "asked the quota controller to count the tenant quota's usage again");
    Ok(())
}

/// The quota key [`request_quota_recount`] adds and removes: an object count of a resource
/// that does not exist, so it limits nothing in between.
pub const RECOUNT_KEY: &str = "count/recount.pgplane.io";

fn params() -> PatchParams {
    PatchParams::apply(labels::FIELD_MANAGER)
        .force()
        .validation_strict()
}

/// Makes the tenant's namespace `ns` on `site` and its three policy objects exist as desired.
pub async fn ensure(
    client: &kube::Client,
    options: &KubernetesOptions,
    tenant: &TenantTarget,
    site: Site,
    ns: &str,
) -> Result<(), PlatformError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if let Some(existing) = namespaces.get_opt(ns).await.map_err(|e| classify(&e))?
        && let Some(why) = foreign_namespace(&existing, tenant)
    {
        return Err(PlatformError::Rejected(why));
    }
    let params = params();
    namespaces
        .patch(ns, &params, &Patch::Apply(namespace(ns, tenant)))
        .await
        .map_err(|e| classify(&e))?;
    let retained = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("{RETAINED}=true")))
        .await
        .map_err(|e| classify(&e))?;
    let retained = RetainedUsage::of(&retained.items);
    Api::<ResourceQuota>::namespaced(client.clone(), ns)
        .patch(
            QUOTA_NAME,
            &params,
            &Patch::Apply(resource_quota(ns, tenant, options, retained)),
        )
        .await
        .map_err(|e| classify(&e))?;
    Api::<LimitRange>::namespaced(client.clone(), ns)
        .patch(
            LIMIT_RANGE_NAME,
            &params,
            &Patch::Apply(limit_range(ns, tenant, options)),
        )
        .await
        .map_err(|e| classify(&e))?;
    Api::<NetworkPolicy>::namespaced(client.clone(), ns)
        .patch(
            super::network::POLICY_NAME,
            &params,
            &Patch::Apply(isolation_policy(ns, site, tenant, options)),
        )
        .await
        .map_err(|e| classify(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::domain::quota::QuotaLimits;

    fn tenant() -> TenantTarget {
        TenantTarget {
            tenant_id: Uuid::from_u128(7),
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
    fn the_namespace_carries_the_tenant_labels() {
        let ns = serde_json::to_value(namespace("pgplane-acme", &tenant())).unwrap();
        assert_eq!(
            ns,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "pgplane-acme",
                    "labels": {
                        "app.kubernetes.io/managed-by": "pgplane",
                        "pgplane.io/tenant": "acme",
                        "pgplane.io/tenant-id": Uuid::from_u128(7).to_string(),
                    },
                },
            })
        );
    }

    #[test]
    fn the_limit_range_defaults_containers_to_the_sidecar_size() {
        let lr = limit_range("pgplane-acme", &tenant(), &KubernetesOptions::default());
        let lr = serde_json::to_value(lr).unwrap();
        assert_eq!(
            lr["spec"],
            json!({ "limits": [{
                "type": "Container",
                "default": { "cpu": "500m", "memory": "512Mi" },
                "defaultRequest": { "cpu": "100m", "memory": "128Mi" },
            }]})
        );
    }

    #[test]
    fn the_resource_quota_follows_the_tenant_quota() {
        let rq = resource_quota(
            "pgplane-acme",
            &tenant(),
            &KubernetesOptions::default(),
            RetainedUsage::default(),
        );
        let hard = rq.spec.unwrap().hard.unwrap();
        // sidecars = 4 × 3 + 8 × 1 = 20
        assert_eq!(hard["requests.cpu"].0, "5100m");
        assert_eq!(hard["pods"].0, "10");
        assert_eq!(hard["requests.storage"].0, "50Gi");
    }

    #[test]
    fn retained_claims_get_room_in_the_quota_on_top_of_the_tenant_quota() {
        let claim = |storage: &str| -> PersistentVolumeClaim {
            serde_json::from_value(json!({
                "metadata": {"name": "x"},
                "spec": {"resources": {"requests": {"storage": storage}}},
            }))
            .unwrap()
        };
        let retained = RetainedUsage::of(&[claim("10Gi"), claim("1500Mi"), claim("lots")]);
        assert_eq!(
            retained,
            RetainedUsage {
                claims: 3,
                storage_gib: 12
            }
        );
        let options = KubernetesOptions::default();
        let rq = resource_quota("pgplane-acme", &tenant(), &options, retained);
        let hard = rq.spec.unwrap().hard.unwrap();
        assert_eq!(hard["requests.storage"].0, "62Gi");
        assert_eq!(hard["persistentvolumeclaims"].0, "7");
    }

    #[test]
    fn the_namespace_of_a_deleted_tenant_of_the_same_name_is_adopted() {
        let mut old = tenant();
        old.tenant_id = Uuid::from_u128(6);
        let existing = namespace("pgplane-acme", &old);
        assert!(foreign_namespace(&existing, &tenant()).is_some());
        let mut recreated = tenant();
        recreated.former_ids = vec![Uuid::from_u128(6)];
        assert_eq!(foreign_namespace(&existing, &recreated), None);
    }

    #[test]
    fn a_namespace_of_another_tenant_or_not_managed_is_not_adopted() {
        let mut existing = namespace("pgplane-acme", &tenant());
        assert_eq!(foreign_namespace(&existing, &tenant()), None);
        let mut other = tenant();
        other.tenant_id = Uuid::from_u128(8);
        let why = foreign_namespace(&existing, &other).unwrap();
        assert!(why.contains("belongs to another tenant"), "{why}");
        existing.metadata.labels = None;
        let why = foreign_namespace(&existing, &tenant()).unwrap();
        assert!(why.contains("not managed by pgplane"), "{why}");
    }
}
