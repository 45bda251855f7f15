//! The resources the provider manages, each in its own module.

use std::collections::HashMap;

use tf_provider::DynamicResource;

use crate::engine::{Managed, ResourceAdapter, Shared};
use crate::schema::Spec;

pub mod cluster;
pub mod cluster_role;

fn entry<R: Managed>(resource: R, shared: &Shared) -> (String, Box<dyn DynamicResource>) {
    let name = resource.spec().type_name.to_string();
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
    ])
}

/// Every resource's schema (for the docs and the tests).
pub fn specs() -> Vec<Spec> {
    vec![cluster::spec(), cluster_role::spec()]
}
