//! The tenant's space on Kubernetes: a namespace with a `ResourceQuota` mirroring the tenant's
//! quota, a `LimitRange` sizing containers PGO creates without resources (a ResourceQuota on
//! cpu/memory refuses pods whose containers declare none), and the isolation `NetworkPolicy`.
//!
//! [`ensure`] refuses to adopt a namespace pgplane does not manage or that belongs to another
//! tenant (a GET before the applies), then server-side applies the four objects with field
//! manager `pgplane`, forced, in that order (the namespace must exist for the others).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};

use super::errors::classify;
use super::labels::{self, MANAGED_BY, MANAGED_BY_VALUE, TENANT_ID, TENANT_NAME};
use super::network::network_policy;
use super::options::{ContainerSize, KubernetesOptions};
use super::quota::{cpu, mib, namespace_quota};
use crate::domain::cluster::Site;
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

/// The tenant's ResourceQuota (formula in [`super::quota`]).
pub fn resource_quota(
    namespace: &str,
    tenant: &TenantTarget,
    options: &KubernetesOptions,
) -> ResourceQuota {
    let hard = namespace_quota(
        &tenant.quota,
        options.sidecar_request,
        options.sidecar_limit,
    );
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
    match owner {
        Some(id) if id != expected => Some(format!(
            "namespace {name} belongs to another tenant ({TENANT_ID}={id})"
        )),
        _ => None,
    }
}

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
    Api::<ResourceQuota>::namespaced(client.clone(), ns)
        .patch(
            QUOTA_NAME,
            &params,
            &Patch::Apply(resource_quota(ns, tenant, options)),
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
        let rq = resource_quota("pgplane-acme", &tenant(), &KubernetesOptions::default());
        let hard = rq.spec.unwrap().hard.unwrap();
        // sidecars = 4 × 3 + 8 × 1 = 20
        assert_eq!(hard["requests.cpu"].0, "5100m");
        assert_eq!(hard["pods"].0, "10");
        assert_eq!(hard["requests.storage"].0, "50Gi");
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
