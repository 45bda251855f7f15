//! The embedded PGO `v1beta1` schemas (v5.8.9 and v6.0.3), parsed and CEL-compiled once.
//!
//! The JSON files under `crds/` are compiled into the binary with `include_str!`, so the crate
//! needs nothing from the filesystem at run time. Parsing (~1.4 MB of JSON) and compiling the
//! CEL rules happen on first use and are cached for the life of the process.

use std::sync::OnceLock;

use serde_json::Value;

use super::cel::CelRules;

/// A PGO release whose CRD schema is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PgoVersion {
    /// PGO v5.8.9, the last v5 release.
    V5_8_9,
    /// PGO v6.0.3 (its `v1beta1` version, the storage version).
    V6_0_3,
}

impl PgoVersion {
    /// Both versions, oldest first.
    pub const ALL: [PgoVersion; 2] = [PgoVersion::V5_8_9, PgoVersion::V6_0_3];

    /// `v5.8.9` or `v6.0.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V5_8_9 => "v5.8.9",
            Self::V6_0_3 => "v6.0.3",
        }
    }
}

/// Which PGO custom resource a schema belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CrdKind {
    PostgresCluster,
    PgUpgrade,
}

impl CrdKind {
    pub fn kind(self) -> &'static str {
        match self {
            Self::PostgresCluster => "PostgresCluster",
            Self::PgUpgrade => "PGUpgrade",
        }
    }
}

/// One parsed schema with its compiled CEL rules.
pub(crate) struct CrdSchema {
    pub version: PgoVersion,
    pub root: Value,
    pub cel: CelRules,
}

fn source(kind: CrdKind, version: PgoVersion) -> &'static str {
    match (kind, version) {
        (CrdKind::PostgresCluster, PgoVersion::V5_8_9) => {
            include_str!("../../crds/postgresclusters.v5.8.9.v1beta1.openapi.json")
        }
        (CrdKind::PostgresCluster, PgoVersion::V6_0_3) => {
            include_str!("../../crds/postgresclusters.v6.0.3.v1beta1.openapi.json")
        }
        (CrdKind::PgUpgrade, PgoVersion::V5_8_9) => {
            include_str!("../../crds/pgupgrades.v5.8.9.v1beta1.openapi.json")
        }
        (CrdKind::PgUpgrade, PgoVersion::V6_0_3) => {
            include_str!("../../crds/pgupgrades.v6.0.3.v1beta1.openapi.json")
        }
    }
}

fn load(kind: CrdKind) -> Vec<CrdSchema> {
    PgoVersion::ALL
        .iter()
        .map(|&version| {
            // The files are committed alongside this code and checked by tests; an unparsable
            // file is a build defect, reported as an empty schema that rejects nothing only
            // after the schema tests have failed loudly.
            let root: Value = serde_json::from_str(source(kind, version)).unwrap_or_else(|e| {
                tracing::error!(?kind, ?version, "embedded schema does not parse: {e}");
                Value::Null
            });
            let cel = CelRules::compile(&root, kind, version);
            CrdSchema { version, root, cel }
        })
        .collect()
}

/// The schemas of `kind`, v5.8.9 first.
pub(crate) fn schemas(kind: CrdKind) -> &'static [CrdSchema] {
    static PG: OnceLock<Vec<CrdSchema>> = OnceLock::new();
    static UP: OnceLock<Vec<CrdSchema>> = OnceLock::new();
    match kind {
        CrdKind::PostgresCluster => PG.get_or_init(|| load(kind)),
        CrdKind::PgUpgrade => UP.get_or_init(|| load(kind)),
    }
}

/// The schema used for pruning and defaulting stored objects (PGO v6.0.3, the storage version).
pub(crate) fn storage_schema(kind: CrdKind) -> Option<&'static CrdSchema> {
    schemas(kind)
        .iter()
        .find(|s| s.version == PgoVersion::V6_0_3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(m) => {
                if let Some(Value::String(p)) = m.get("pattern") {
                    out.push(p.clone());
                }
                m.values().for_each(|v| patterns(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| patterns(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_embedded_schema_parses_and_every_pattern_compiles() {
        for kind in [CrdKind::PostgresCluster, CrdKind::PgUpgrade] {
            let loaded = schemas(kind);
            assert_eq!(loaded.len(), 2);
            for schema in loaded {
                assert!(
                    schema.root.get("properties").is_some(),
                    "{kind:?} {:?}",
                    schema.version
                );
                let mut all = Vec::new();
                patterns(&schema.root, &mut all);
                for p in all {
                    assert!(regex::Regex::new(&p).is_ok(), "{p}");
                }
            }
        }
    }
}
