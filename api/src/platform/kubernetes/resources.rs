//! The PGO custom resource the driver addresses as a [`kube::api::DynamicObject`]: the domain
//! builds the manifest as JSON, so a typed Rust mirror of PGO's large CRD would only duplicate it.

use kube::api::{ApiResource, GroupVersionKind};

/// PGO's API group.
pub const PGO_GROUP: &str = "postgres-operator.crunchydata.com";

/// `postgresclusters.postgres-operator.crunchydata.com/v1beta1`.
pub fn postgrescluster() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(PGO_GROUP, "v1beta1", "PostgresCluster"),
        "postgresclusters",
    )
}

/// `pgupgrades.postgres-operator.crunchydata.com/v1beta1`: PGO's major-upgrade request.
pub fn pgupgrade() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(PGO_GROUP, "v1beta1", "PGUpgrade"),
        "pgupgrades",
    )
}
