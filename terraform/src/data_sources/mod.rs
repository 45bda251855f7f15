//! The data sources the provider reads, each in its own module.

use std::collections::HashMap;

use tf_provider::DynamicDataSource;

use crate::engine::{DataSourceAdapter, Lookup, Shared};
use crate::schema::Spec;

pub mod cluster;

fn entry<L: Lookup>(lookup: L, shared: &Shared) -> (String, Box<dyn DynamicDataSource>) {
    let name = lookup.spec().type_name.to_string();
    (
        name,
        Box::new(DataSourceAdapter::new(lookup, shared.clone())),
    )
}

/// Every data source, by type name.
pub fn all(shared: &Shared) -> HashMap<String, Box<dyn DynamicDataSource>> {
    HashMap::from([entry(cluster::ClusterData, shared)])
}

/// Every data source's schema (for the docs and the tests).
pub fn specs() -> Vec<Spec> {
    vec![cluster::spec()]
}
