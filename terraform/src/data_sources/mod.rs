//! The data sources the provider reads, each in its own module.

use std::collections::HashMap;

use tf_provider::DynamicDataSource;

use crate::engine::{DataSourceAdapter, Lookup, Shared};
use crate::schema::Spec;

pub mod cluster;
pub mod cluster_connection;
pub mod postgres_versions;
pub mod tenant;

fn entry<L: Lookup>(lookup: L, shared: &Shared) -> (String, Box<dyn DynamicDataSource>) {
    // tf-provider prefixes the provider's name (`pgplane_`) itself.
    let type_name = lookup.spec().type_name;
    let name = type_name
        .strip_prefix("pgplane_")
        .unwrap_or(type_name)
        .to_string();
    (
        name,
        Box::new(DataSourceAdapter::new(lookup, shared.clone())),
    )
}

/// Every data source, by type name.
pub fn all(shared: &Shared) -> HashMap<String, Box<dyn DynamicDataSource>> {
    HashMap::from([
        entry(cluster::ClusterData, shared),
        entry(cluster_connection::ClusterConnection, shared),
        entry(tenant::TenantData, shared),
        entry(postgres_versions::PostgresVersions, shared),
    ])
}

/// Every data source's schema (for the docs and the tests).
pub fn specs() -> Vec<Spec> {
    vec![
        cluster::spec(),
        cluster_connection::spec(),
        postgres_versions::spec(),
        tenant::spec(),
    ]
}
