//! Every rendered object validates offline: built-in kinds against the Kubernetes API schemas
//! (strict: unknown fields fail), PostgresClusters against both PGO CRD versions.

use std::io::Write;

use kube_test_apiserver::validation::validate_postgrescluster;
use serde_json::Value;

use crate::render::{id, kustomizations, objects, run};

/// Kubernetes versions validated against: the oldest pgplane supports (the version of its
/// `k8s-openapi` types and of the test API server) and the newest the validator knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.33.0", "1.37.0"];

/// Built-in kinds the manifests use; anything else needs a validator of its own here.
const BUILT_IN_KINDS: [&str; 9] = [
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "Secret",
];

/// `kubernetes-validate --strict` on `objects`, for each version; the failures, if any.
fn schema_failures(objects: &[&Value]) -> Vec<String> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for o in objects {
        let json = serde_json::to_string(o).expect("JSON");
        // JSON is YAML: one document per object.
        writeln!(file, "---\n{json}").expect("write");
    }
    let path = file.path().to_string_lossy().to_string();
    let mut failures = Vec::new();
    for version in KUBERNETES_VERSIONS {
        let out = run(
            "kubernetes-validate",
            &["--strict", "--quiet", "-k", version, &path],
        );
        if !out.status.success() {
            failures.push(format!(
                "Kubernetes {version}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    failures
}

#[test]
fn every_rendered_object_validates_against_the_kubernetes_and_pgo_schemas() {
    for dir in kustomizations() {
        let objects = objects(&dir);
        assert!(!objects.is_empty(), "{} renders nothing", dir.display());
        let mut built_in = Vec::new();
        let mut failures = Vec::new();
        for object in &objects {
            match object["kind"].as_str().unwrap_or_default() {
                "PostgresCluster" => {
                    if let Err(causes) = validate_postgrescluster(object) {
                        let causes: Vec<String> = causes.iter().map(|c| c.to_string()).collect();
                        failures.push(format!("{}: {}", id(object), causes.join("; ")));
                    }
                }
                kind if BUILT_IN_KINDS.contains(&kind) => built_in.push(object),
                _ => failures.push(format!(
                    "{}: no validator for this kind (add it to BUILT_IN_KINDS if it is built in)",
                    id(object)
                )),
            }
        }
        failures.extend(schema_failures(&built_in));
        assert!(
            failures.is_empty(),
            "{} does not validate:\n{}",
            dir.display(),
            failures.join("\n")
        );
    }
}

#[test]
fn the_schema_check_rejects_an_unknown_field_and_a_wrong_type() {
    // The validator must be strict, or the test above proves little.
    let typo = serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": { "name": "s" },
        "spec": { "ports": [{ "port": 80 }], "selectr": { "a": "b" } }
    });
    let wrong_type = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "d" },
        "spec": { "replicas": "two", "selector": {}, "template": {} }
    });
    for object in [typo, wrong_type] {
        assert!(!schema_failures(&[&object]).is_empty(), "accepted {object}");
    }
}

#[test]
fn every_object_is_in_the_pgplane_namespace_or_cluster_scoped() {
    const CLUSTER_SCOPED: [&str; 3] = ["Namespace", "ClusterRole", "ClusterRoleBinding"];
    for dir in kustomizations() {
        for object in objects(&dir) {
            let kind = object["kind"].as_str().unwrap_or_default();
            let namespace = object["metadata"]["namespace"].as_str();
            if CLUSTER_SCOPED.contains(&kind) {
                assert_eq!(namespace, None, "{} is cluster-scoped", id(&object));
            } else {
                assert_eq!(namespace, Some("pgplane"), "{}", id(&object));
            }
        }
    }
}

#[test]
fn nothing_carries_the_label_pgplanes_own_watch_selects() {
    // `app.kubernetes.io/managed-by=pgplane` marks tenant objects; pgplane's own metadata
    // database must not look like a tenant cluster to the status sync.
    for dir in kustomizations() {
        for object in objects(&dir) {
            let labels = [
                &object["metadata"]["labels"],
                &object["spec"]["template"]["metadata"]["labels"],
                &object["spec"]["metadata"]["labels"],
            ];
            for l in labels {
                assert_ne!(
                    l["app.kubernetes.io/managed-by"],
                    "pgplane",
                    "{} in {}",
                    id(&object),
                    dir.display()
                );
            }
        }
    }
}
