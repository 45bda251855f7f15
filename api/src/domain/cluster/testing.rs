//! Test fixtures: builders on the domain types (`ClusterSpec::test().with_instances(3)`),
//! golden files, and the real PGO CRD schemas with a hand-written mirror of their CEL rules.
//!
//! Two paths locate test inputs; they are the only things to repoint when this module moves:
//! [`TESTDATA_DIR`] (golden files, next to this file) and [`pgo_crd_json_dir`] (the shared
//! reference CRDs, overridable with `PGO_CRD_JSON_DIR`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use super::parameters::pgo_forbidden;
use super::request::ClusterRequest;
use super::spec::{ClusterSpec, DatabaseUser};

/// Golden files of this module. Regenerate with `UPDATE_GOLDEN=1 cargo test`.
pub(super) const TESTDATA_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/domain/cluster/testdata");

/// PGO versions whose `postgresclusters` v1beta1 schema every manifest must satisfy.
pub(super) const PGO_VERSIONS: [&str; 2] = ["5.8.9", "6.0.3"];

/// Directory of the PGO CRD schemas as JSON (`postgresclusters.v<version>.v1beta1.openapi.json`).
pub(super) fn pgo_crd_json_dir() -> PathBuf {
    std::env::var_os("PGO_CRD_JSON_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/kube-apiserver/crds"
            ))
        })
}

impl ClusterSpec {
    /// A valid, fully defaulted cluster named `orders`.
    pub(super) fn test() -> ClusterSpec {
        ClusterSpec::from_request(ClusterRequest::named("orders"))
            .expect("the default spec is valid")
    }
    pub(super) fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        name.clone_into(&mut self.database);
        name.clone_into(&mut self.owner);
        self
    }
    pub(super) fn with_instances(mut self, instances: u32) -> Self {
        self.instances = instances;
        self
    }
    pub(super) fn with_cpu(mut self, cpu: &str) -> Self {
        cpu.clone_into(&mut self.resources.cpu);
        self
    }
    pub(super) fn with_memory(mut self, memory: &str) -> Self {
        memory.clone_into(&mut self.resources.memory);
        self
    }
    pub(super) fn with_storage(mut self, size: &str) -> Self {
        size.clone_into(&mut self.storage.size);
        self
    }
    pub(super) fn with_storage_class(mut self, class: Option<&str>) -> Self {
        self.storage.class = class.map(String::from);
        self
    }
    pub(super) fn with_backups(mut self, enabled: bool) -> Self {
        self.backups.enabled = enabled;
        self
    }
    pub(super) fn with_pooler(mut self, enabled: bool, replicas: u32) -> Self {
        self.pooler.enabled = enabled;
        self.pooler.replicas = replicas;
        self
    }
    pub(super) fn with_monitoring(mut self, enabled: bool) -> Self {
        self.monitoring.enabled = enabled;
        self
    }
    pub(super) fn suspended(mut self) -> Self {
        self.suspended = true;
        self
    }
    pub(super) fn with_parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.insert(name.into(), value.into());
        self
    }
    pub(super) fn with_user(
        mut self,
        name: &str,
        databases: &[&str],
        options: Option<&str>,
    ) -> Self {
        self.users.push(DatabaseUser {
            name: name.into(),
            databases: databases.iter().map(|d| d.to_string()).collect(),
            options: options.map(String::from),
        });
        self
    }
}

/// Compares `actual` with `testdata/<name>.json` (as JSON values, so key order and
/// whitespace do not matter), or rewrites the file when `UPDATE_GOLDEN=1`.
pub(super) fn assert_golden(name: &str, actual: &Value) {
    let path = PathBuf::from(TESTDATA_DIR).join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).expect("JSON values serialise") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, pretty).expect("golden file is writable");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&text).expect("golden file is JSON");
    assert!(
        expected == *actual,
        "{} differs (UPDATE_GOLDEN=1 rewrites it); actual:\n{pretty}",
        path.display()
    );
}

/// The v1beta1 `postgresclusters` schema of PGO `version`, as JSON.
pub(super) fn crd_schema(version: &str) -> &'static Value {
    static SCHEMAS: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        PGO_VERSIONS
            .iter()
            .map(|v| {
                let file =
                    pgo_crd_json_dir().join(format!("postgresclusters.v{v}.v1beta1.openapi.json"));
                let text = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{}: {e} (set PGO_CRD_JSON_DIR)", file.display()));
                (*v, serde_json::from_str(&text).expect("CRD schema is JSON"))
            })
            .collect()
    });
    schemas
        .get(version)
        .unwrap_or_else(|| panic!("no schema for PGO {version}"))
}

/// Structural schema errors of `manifest` against PGO `version`. The OpenAPI v3 structural
/// schema is read as JSON Schema 2020-12, where `format` is an annotation: the CRD's patterns
/// are Go RE2 (`[[:print:]]`, `\pZ`, `(?i:…)`), which draft 4's ECMA-262 `regex` format check
/// would refuse. `x-kubernetes-*` extensions are ignored here and mirrored by
/// [`cel_violations`].
pub(super) fn schema_errors(version: &str, manifest: &Value) -> Vec<String> {
    static VALIDATORS: OnceLock<BTreeMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        PGO_VERSIONS
            .iter()
            .map(|v| {
                (
                    *v,
                    jsonschema::draft202012::new(crd_schema(v)).expect("CRD schema compiles"),
                )
            })
            .collect()
    });
    let validator = validators
        .get(version)
        .unwrap_or_else(|| panic!("no schema for PGO {version}"));
    validator
        .iter_errors(manifest)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Violations of the CRD's CEL rules (and list-map uniqueness) that apply to fields pgplane
/// writes. The API server evaluates these; this mirror keeps tests honest without it.
pub(super) fn cel_violations(manifest: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let spec = &manifest["spec"];
    if let Some(parameters) = spec["config"]["parameters"].as_object() {
        for (name, value) in parameters {
            let allowed_wal_level = name == "wal_level" && value == "logical";
            if let (Some(why), false) = (pgo_forbidden(name), allowed_wal_level) {
                found.push(format!("parameter {name}: {why}"));
            }
        }
        if parameters.contains_key("ssl_groups") && spec["postgresVersion"].as_i64() <= Some(17) {
            found.push("ssl_groups needs PostgreSQL 18".into());
        }
    }
    let mut claims: Vec<&Value> = Vec::new();
    for set in spec["instances"].as_array().into_iter().flatten() {
        claims.push(&set["dataVolumeClaimSpec"]);
    }
    for repo in spec["backups"]["pgbackrest"]["repos"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if !repo["volume"].is_null() {
            claims.push(&repo["volume"]["volumeClaimSpec"]);
        }
    }
    for claim in claims {
        if claim["accessModes"].as_array().is_none_or(Vec::is_empty) {
            found.push("missing accessModes".into());
        }
        if claim["resources"]["requests"]["storage"].is_null() {
            found.push("missing storage request".into());
        }
    }
    for user in spec["users"].as_array().into_iter().flatten() {
        let options = user["options"].as_str().unwrap_or("");
        if options.to_ascii_lowercase().contains("password") {
            found.push("users[].options: cannot assign password".into());
        }
        if ["--", "/*", "*/"].iter().any(|c| options.contains(c)) {
            found.push("users[].options: cannot contain comments".into());
        }
        found.extend(duplicates(
            user["databases"].as_array(),
            |d| d.as_str(),
            "users[].databases",
        ));
    }
    found.extend(duplicates(
        spec["users"].as_array(),
        |u| u["name"].as_str(),
        "users",
    ));
    found.extend(duplicates(
        spec["instances"].as_array(),
        |i| i["name"].as_str(),
        "instances",
    ));
    found
}

fn duplicates<'a>(
    items: Option<&'a Vec<Value>>,
    key: impl Fn(&'a Value) -> Option<&'a str>,
    list: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for k in items.into_iter().flatten().filter_map(key) {
        if seen.contains(&k) {
            found.push(format!("{list}: duplicate key {k}"));
        }
        seen.push(k);
    }
    found
}
