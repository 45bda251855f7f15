//! What the production overlay must keep: high availability, the restricted pod security
//! profile, probes on the health endpoints, and objects that refer to each other correctly.

use std::collections::BTreeSet;

use clap::CommandFactory;
use serde_json::Value;

use crate::render::{find, id, only, production};

fn deployment(objects: &[Value]) -> &Value {
    find(objects, "Deployment", "pgplane")
}

fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// Whether `selector` (matchLabels) selects pods labelled `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let wanted = selector["matchLabels"].as_object().expect("matchLabels");
    !wanted.is_empty() && wanted.iter().all(|(k, v)| &labels[k] == v)
}

#[test]
fn the_deployment_runs_several_replicas_spread_over_nodes_and_rolls_without_losing_capacity() {
    let objects = production();
    let d = deployment(&objects);
    let spec = &d["spec"];
    assert!(
        spec["replicas"].as_i64().unwrap() >= 2,
        "replicas: {}",
        spec["replicas"]
    );
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    let pod_labels = &spec["template"]["metadata"]["labels"];
    assert!(selects(&spec["selector"], pod_labels));
    let spread = spec["template"]["spec"]["topologySpreadConstraints"]
        .as_array()
        .expect("topologySpreadConstraints");
    let by_host = spread
        .iter()
        .find(|c| c["topologyKey"] == "kubernetes.io/hostname")
        .expect("a spread over nodes");
    assert_eq!(by_host["whenUnsatisfiable"], "DoNotSchedule");
    assert!(selects(&by_host["labelSelector"], pod_labels));

    let pdb = only(&objects, "PodDisruptionBudget");
    assert!(selects(&pdb["spec"]["selector"], pod_labels), "{}", id(pdb));
    let allowed = pdb["spec"]["maxUnavailable"]
        .as_i64()
        .expect("maxUnavailable");
    assert!(allowed >= 1 && allowed < spec["replicas"].as_i64().unwrap());

    let service = find(&objects, "Service", "pgplane");
    assert!(
        service["spec"]["selector"]
            .as_object()
            .expect("selector")
            .iter()
            .all(|(k, v)| &pod_labels[k] == v)
    );
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn the_pod_meets_the_restricted_pod_security_profile() {
    let objects = production();
    let d = deployment(&objects);
    let pod = &d["spec"]["template"]["spec"];
    let c = container(d);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["securityContext"]["runAsUser"].as_i64().unwrap() > 0);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["hostNetwork"], Value::Null);
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["capabilities"]["add"], Value::Null);
    assert_ne!(sc["privileged"], true);
    for volume in pod["volumes"].as_array().expect("volumes") {
        assert!(
            volume.get("hostPath").is_none(),
            "no hostPath volumes: {volume}"
        );
    }
}

#[test]
fn probes_use_the_health_endpoints_and_resources_are_bounded() {
    let objects = production();
    let c = container(deployment(&objects));
    let port = c["ports"][0]["name"].clone();
    for (probe, path) in [
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
    ] {
        assert_eq!(c[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], port, "{probe}");
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource} is set"
            );
        }
    }
    assert_eq!(c["args"], serde_json::json!(["serve"]));
}

#[test]
fn the_service_account_is_bound_to_the_cluster_role_in_the_deployments_namespace() {
    let objects = production();
    let d = deployment(&objects);
    let account = d["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    let namespace = d["metadata"]["namespace"].as_str().expect("namespace");
    find(&objects, "ServiceAccount", account);
    let binding = only(&objects, "ClusterRoleBinding");
    let role = only(&objects, "ClusterRole");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{ "kind": "ServiceAccount", "name": account, "namespace": namespace }])
    );
}

#[test]
fn the_database_url_and_ca_come_from_the_secrets_pgo_writes_for_the_metadata_cluster() {
    let objects = production();
    let c = container(deployment(&objects));
    let cluster = only(&objects, "PostgresCluster");
    let cluster_name = cluster["metadata"]["name"].as_str().unwrap();
    let user = &cluster["spec"]["users"][0];
    let user_name = user["name"].as_str().unwrap();
    assert_eq!(
        user["databases"][0], user_name,
        "the user owns a database of its name"
    );

    let env = c["env"].as_array().expect("env");
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("env {name}"))
    };
    let uri = &var("PGO_DATABASE_URI")["valueFrom"]["secretKeyRef"];
    assert_eq!(uri["name"], format!("{cluster_name}-pguser-{user_name}"));
    assert_eq!(uri["key"], "uri");
    let url = var("DATABASE_URL")["value"].as_str().unwrap();
    assert!(url.starts_with("$(PGO_DATABASE_URI)?"), "{url}");
    let jwt = &var("PGPLANE_JWT_KEYS")["valueFrom"]["secretKeyRef"];
    assert_eq!(jwt["key"], "keys");

    // The CA file named in the URL is mounted from PGO's certificate Secret, and only the CA.
    let volumes = deployment(&objects)["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    let ca = volumes
        .iter()
        .find(|v| v["name"] == "db-ca")
        .expect("db-ca volume");
    assert_eq!(
        ca["secret"]["secretName"],
        format!("{cluster_name}-cluster-cert")
    );
    assert_eq!(
        ca["secret"]["items"],
        serde_json::json!([{ "key": "ca.crt", "path": "ca.crt" }])
    );
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "db-ca")
        .expect("db-ca mount");
    let mount_path = mount["mountPath"].as_str().unwrap();
    assert!(
        url.contains(&format!("sslrootcert={mount_path}/ca.crt")),
        "{url}"
    );
    assert!(url.contains("sslmode=verify-"), "{url}");

    // The secrets key is a file from its own Secret (a volume follows the Secret's updates,
    // which a rotation relies on), read-only and readable by the owner alone.
    let key_file = var("PGPLANE_SECRETS_KEY_FILE")["value"].as_str().unwrap();
    let key_mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| key_file.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())))
        .unwrap_or_else(|| panic!("no mount holds {key_file}"));
    assert_eq!(key_mount["readOnly"], true);
    let key_volume = volumes
        .iter()
        .find(|v| v["name"] == key_mount["name"])
        .expect("the key's volume");
    assert_eq!(key_volume["secret"]["secretName"], "pgplane-secrets-key");
    assert_eq!(key_volume["secret"]["defaultMode"], 0o400);

    // The init SQL the cluster names exists, and creates the user's schema.
    let init = &cluster["spec"]["databaseInitSQL"];
    let map = find(&objects, "ConfigMap", init["name"].as_str().unwrap());
    let sql = map["data"][init["key"].as_str().unwrap()].as_str().unwrap();
    assert!(
        sql.contains(&format!(
            "create schema if not exists {user_name} authorization {user_name}"
        )),
        "{sql}"
    );
}

/// Every environment variable some `pgplane` command reads.
fn known_variables() -> BTreeSet<String> {
    fn walk(command: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.insert(env.to_string_lossy().to_string());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeSet::from(["RUST_LOG".to_string()]);
    walk(&pgplane::cli::Cli::command(), &mut out);
    out
}

#[test]
fn every_setting_in_the_config_map_is_a_variable_pgplane_reads() {
    let objects = production();
    let known = known_variables();
    let config = find(&objects, "ConfigMap", "pgplane-config");
    for key in config["data"].as_object().expect("data").keys() {
        assert!(known.contains(key), "pgplane reads no variable {key}");
    }
    let c = container(deployment(&objects));
    let from = &c["envFrom"][0]["configMapRef"]["name"];
    assert_eq!(from, "pgplane-config");
    for e in c["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(
            known.contains(name) || name == "PGO_DATABASE_URI",
            "pgplane reads no variable {name}"
        );
    }
}
