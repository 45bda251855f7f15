//! The static table of resource types this server serves, and nothing else.
//!
//! Each [`ResourceDef`] says where a type lives in the REST tree (group, version, plural), how it
//! behaves (namespaced, status subresource, generation tracking) and which admission model
//! applies ([`Model`]). Routing, discovery, the store and admission all look types up here, so
//! adding a resource type is one entry in [`RESOURCES`] plus its admission model.

/// The group of the Crunchy Data Postgres Operator's custom resources.
pub const PGO_GROUP: &str = "postgres-operator.crunchydata.com";

/// How objects of a type are decoded, defaulted and validated on write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    Namespace,
    Secret,
    ConfigMap,
    Service,
    Pod,
    PersistentVolumeClaim,
    ResourceQuota,
    LimitRange,
    NetworkPolicy,
    StatefulSet,
    Lease,
    Event,
    StorageClass,
    PostgresCluster,
    PgUpgrade,
}

/// One served resource type.
#[derive(Debug)]
pub(crate) struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    pub status_subresource: bool,
    /// `metadata.generation` is kept and bumped on changes outside metadata and status.
    pub tracks_generation: bool,
    pub model: Model,
}

const fn core(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    status_subresource: bool,
    model: Model,
) -> ResourceDef {
    ResourceDef {
        group: "",
        version: "v1",
        plural,
        singular,
        kind,
        short_names,
        namespaced,
        status_subresource,
        tracks_generation: false,
        model,
    }
}

/// Every resource type served, in discovery order.
pub(crate) static RESOURCES: &[ResourceDef] = &[
    core(
        "namespaces",
        "namespace",
        "Namespace",
        &["ns"],
        false,
        true,
        Model::Namespace,
    ),
    core(
        "secrets",
        "secret",
        "Secret",
        &[],
        true,
        false,
        Model::Secret,
    ),
    core(
        "configmaps",
        "configmap",
        "ConfigMap",
        &["cm"],
        true,
        false,
        Model::ConfigMap,
    ),
    core(
        "services",
        "service",
        "Service",
        &["svc"],
        true,
        true,
        Model::Service,
    ),
    core("pods", "pod", "Pod", &["po"], true, true, Model::Pod),
    core(
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        &["pvc"],
        true,
        true,
        Model::PersistentVolumeClaim,
    ),
    core(
        "events",
        "event",
        "Event",
        &["ev"],
        true,
        false,
        Model::Event,
    ),
    core(
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        &["quota"],
        true,
        true,
        Model::ResourceQuota,
    ),
    core(
        "limitranges",
        "limitrange",
        "LimitRange",
        &["limits"],
        true,
        false,
        Model::LimitRange,
    ),
    ResourceDef {
        group: "networking.k8s.io",
        version: "v1",
        plural: "networkpolicies",
        singular: "networkpolicy",
        kind: "NetworkPolicy",
        short_names: &["netpol"],
        namespaced: true,
        status_subresource: false,
        tracks_generation: true,
        model: Model::NetworkPolicy,
    },
    ResourceDef {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        short_names: &["sts"],
        namespaced: true,
        status_subresource: true,
        tracks_generation: true,
        model: Model::StatefulSet,
    },
    ResourceDef {
        group: "storage.k8s.io",
        version: "v1",
        plural: "storageclasses",
        singular: "storageclass",
        kind: "StorageClass",
        short_names: &["sc"],
        namespaced: false,
        status_subresource: false,
        tracks_generation: false,
        model: Model::StorageClass,
    },
    ResourceDef {
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        singular: "lease",
        kind: "Lease",
        short_names: &[],
        namespaced: true,
        status_subresource: false,
        tracks_generation: false,
        model: Model::Lease,
    },
    ResourceDef {
        group: PGO_GROUP,
        version: "v1beta1",
        plural: "postgresclusters",
        singular: "postgrescluster",
        kind: "PostgresCluster",
        short_names: &[],
        namespaced: true,
        status_subresource: true,
        tracks_generation: true,
        model: Model::PostgresCluster,
    },
    ResourceDef {
        group: PGO_GROUP,
        version: "v1beta1",
        plural: "pgupgrades",
        singular: "pgupgrade",
        kind: "PGUpgrade",
        short_names: &[],
        namespaced: true,
        status_subresource: true,
        tracks_generation: true,
        model: Model::PgUpgrade,
    },
];

impl ResourceDef {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `secrets` or `postgresclusters.postgres-operator.crunchydata.com` (error messages).
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Secret` or `PostgresCluster.postgres-operator.crunchydata.com` (Invalid messages).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether this is one of the PGO custom resources (schema-validated, CRD semantics).
    pub fn is_custom(&self) -> bool {
        matches!(self.model, Model::PostgresCluster | Model::PgUpgrade)
    }

    /// Stable identity used as the first part of store keys.
    pub fn key(&'static self) -> &'static str {
        self.plural
    }
}

/// Finds a served type by its REST coordinates.
pub(crate) fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The group/versions served, for `/api` and `/apis` discovery.
pub(crate) fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}
