//! The resources the provider manages, each in its own module.

use std::collections::HashMap;

use tf_provider::DynamicResource;

use crate::engine::{Managed, ResourceAdapter, Shared};
use crate::schema::Spec;

pub mod api_key;
pub mod cluster;
pub mod cluster_role;
pub mod member;
pub mod tenant;
pub mod tenant_quota;

fn entry<R: Managed>(resource: R, shared: &Shared) -> (String, Box<dyn DynamicResource>) {
    // tf-provider prefixes the provider's name (`pgplane_`) itself.
    let type_name = resource.spec().type_name;
    let name = type_name
        .strip_prefix("pgplane_")
        .unwrap_or(type_name)
        .to_string();
    (
        name,
        Box::new(ResourceAdapter::new(resource, shared.clone())),
    )
}

/// Every resource, by type name.
pub fn all(shared: &Shared) -> HashMap<String, Box<dyn DynamicResource>> {
    HashMap::from([
        entry(cluster::Cluster, shared),
        entry(cluster_role::ClusterRole, shared),
        entry(tenant::Tenant, shared),
        entry(tenant_quota::TenantQuota, shared),
        entry(member::Member, shared),
        entry(api_key::ApiKey, shared),
    ])
}

/// Every resource's schema (for the docs and the tests).
pub fn specs() -> Vec<Spec> {
    vec![
        cluster::spec(),
        cluster_role::spec(),
        tenant::spec(),
        tenant_quota::spec(),
        member::spec(),
        api_key::spec(),
    ]
}
