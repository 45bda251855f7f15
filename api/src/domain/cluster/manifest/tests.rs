use serde_json::{Value, json};

use super::super::testing::{PGO_VERSIONS, assert_golden, cel_violations, schema_errors};
use super::super::{ClusterSpec, StandbySource};
use super::*;

const TENANT_ID: &str = "0f9a6c1e-4a55-4b8e-9d4e-3c1f8b2a7d10";
const CLUSTER_ID: &str = "5b2d7e90-1c3a-4f6b-8e2d-9a0c4b7f1e33";

fn manifest(spec: &ClusterSpec) -> Value {
    manifest_with(spec, false)
}

/// The input of `spec` in tenant `acme`'s namespace, without extras.
fn input(spec: &ClusterSpec) -> ManifestInput<'_> {
    ManifestInput {
        spec,
        namespace: "pgplane-acme",
        tenant_id: TENANT_ID,
        cluster_id: CLUSTER_ID,
        tenant_name: "acme",
        image: None,
        tenant_certificates: false,
        standby_host: None,
    }
}

fn manifest_with(spec: &ClusterSpec, tenant_certificates: bool) -> Value {
    desired_postgrescluster(&ManifestInput {
        tenant_certificates,
        ..input(spec)
    })
}

/// Asserts `spec` is valid and its manifest passes both CRD schemas and the CEL mirror.
fn admitted(spec: &ClusterSpec) -> Value {
    let errors = spec.validation_errors();
    assert!(errors.is_empty(), "spec should be valid: {errors:?}");
    let manifest = manifest(spec);
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &manifest);
        assert!(
            errors.is_empty(),
            "PGO {version} rejects {spec:?}: {errors:#?}"
        );
    }
    let violations = cel_violations(&manifest);
    assert!(
        violations.is_empty(),
        "CEL rules reject {spec:?}: {violations:?}"
    );
    manifest
}

/// The contract example from the API documentation.
fn contract_example() -> ClusterSpec {
    let document = json!({
        "name": "orders", "postgres_version": 17, "instances": 3,
        "resources": {"cpu": "1", "memory": "2Gi"}, "storage": {"size": "20Gi", "class": null},
        "backups": {"enabled": true, "schedules": {"full": "0 1 * * 0", "incremental": "0 1 * * 1-6"}, "retention_full": 4},
        "pooler": {"enabled": false, "replicas": 1}, "monitoring": {"enabled": false},
        "parameters": {"max_connections": "200"}, "database": "orders", "owner": "orders",
        "deletion_policy": "keep_backups", "deletion_protection": false
    });
    ClusterSpec::from_json(&document).expect("the contract example is valid")
}

fn everything() -> ClusterSpec {
    let mut spec = ClusterSpec::test()
        .with_instances(3)
        .with_cpu("2")
        .with_memory("8Gi")
        .with_storage("100Gi")
        .with_storage_class(Some("fast-ssd"))
        .with_pooler(true, 2)
        .with_monitoring(true)
        .with_parameter(
            "shared_preload_libraries",
            "pg_stat_statements,auto_explain",
        )
        .with_parameter("auto_explain.log_min_duration", "5s")
        .with_parameter("statement_timeout", "30min")
        .with_user("reporting", &["orders"], Some("NOLOGIN"))
        .with_user(
            "etl",
            &["orders", "staging"],
            Some("CREATEDB CONNECTION LIMIT 5"),
        );
    spec.backups.schedules.differential = Some("0 13 * * *".into());
    spec.backups.retention_full = 8;
    spec
}

#[test]
fn every_combination_of_options_is_admitted_by_both_crds() {
    let mut checked = 0;
    for instances in 1..=3 {
        for backups in [true, false] {
            for pooler in [true, false] {
                for monitoring in [true, false] {
                    for class in [None, Some("standard")] {
                        for suspended in [false, true] {
                            let mut spec = ClusterSpec::test()
                                .with_instances(instances)
                                .with_backups(backups)
                                .with_pooler(pooler, instances)
                                .with_monitoring(monitoring)
                                .with_storage_class(class);
                            spec.suspended = suspended;
                            admitted(&spec);
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 96);
}

#[test]
fn named_scenarios_match_their_golden_files() {
    let scenarios = [
        ("manifest_default", ClusterSpec::test()),
        ("manifest_contract_example", contract_example()),
        ("manifest_ha_everything", everything()),
        (
            "manifest_backups_disabled",
            ClusterSpec::test().with_backups(false).with_instances(2),
        ),
        (
            "manifest_suspended",
            ClusterSpec::test().with_pooler(true, 1).suspended(),
        ),
    ];
    for (name, spec) in scenarios {
        assert_golden(name, &admitted(&spec));
    }
}

#[test]
fn the_manifest_is_deterministic() {
    let spec = everything();
    let first = serde_json::to_string(&manifest(&spec)).unwrap();
    let second = serde_json::to_string(&manifest(&spec.clone())).unwrap();
    assert_eq!(first, second);
}

#[test]
fn only_fields_pgplane_owns_are_set() {
    let manifest = manifest(&everything().suspended());
    let keys: Vec<_> = manifest["spec"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut expected = [
        "backups",
        "config",
        "instances",
        "metadata",
        "monitoring",
        "postgresVersion",
        "proxy",
        "shutdown",
        "users",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    let top: Vec<_> = manifest.as_object().unwrap().keys().cloned().collect();
    assert_eq!(top.len(), 4, "apiVersion, kind, metadata, spec: no status");
}

#[test]
fn labels_identify_the_tenant_and_cluster_on_the_object_and_everything_pgo_creates() {
    let manifest = manifest(&ClusterSpec::test());
    let expected = json!({
        "app.kubernetes.io/managed-by": "pgplane",
        "pgplane.io/cluster-id": CLUSTER_ID,
        "pgplane.io/tenant": "acme",
        "pgplane.io/tenant-id": TENANT_ID,
    });
    assert_eq!(manifest["metadata"]["labels"], expected);
    assert_eq!(manifest["spec"]["metadata"]["labels"], expected);
    assert_eq!(manifest["metadata"]["name"], "orders");
    assert_eq!(manifest["metadata"]["namespace"], "pgplane-acme");
    assert_eq!(
        manifest["apiVersion"],
        "postgres-operator.crunchydata.com/v1beta1"
    );
}

#[test]
fn users_get_their_own_schema() {
    let annotations = &manifest(&ClusterSpec::test())["metadata"]["annotations"];
    assert_eq!(
        annotations["postgres-operator.crunchydata.com/autoCreateUserSchema"],
        "true"
    );
}

#[test]
fn disabled_backups_omit_the_repository_and_authorize_its_removal() {
    let manifest = manifest(&ClusterSpec::test().with_backups(false));
    assert!(manifest["spec"].get("backups").is_none());
    let annotations = &manifest["metadata"]["annotations"];
    assert_eq!(
        annotations["postgres-operator.crunchydata.com/authorizeBackupRemoval"],
        "true"
    );
    let enabled = self::manifest(&ClusterSpec::test());
    assert!(
        enabled["metadata"]["annotations"]
            .get("postgres-operator.crunchydata.com/authorizeBackupRemoval")
            .is_none()
    );
}

#[test]
fn backups_use_one_volume_repository_with_count_retention() {
    let backups = &manifest(&everything())["spec"]["backups"]["pgbackrest"];
    assert_eq!(
        backups["global"],
        json!({ "repo1-retention-full": "8", "repo1-retention-full-type": "count" })
    );
    let repo = &backups["repos"][0];
    assert_eq!(repo["name"], "repo1");
    assert_eq!(
        repo["schedules"],
        json!({ "full": "0 1 * * 0", "differential": "0 13 * * *", "incremental": "0 1 * * 1-6" })
    );
    assert_eq!(
        repo["volume"]["volumeClaimSpec"]["resources"]["requests"]["storage"],
        "200Gi"
    );
    assert_eq!(
        repo["volume"]["volumeClaimSpec"]["storageClassName"],
        "fast-ssd"
    );
}

#[test]
fn suspending_only_adds_shutdown() {
    let running = manifest(&everything());
    let mut suspended = manifest(&everything().suspended());
    assert_eq!(suspended["spec"]["shutdown"], json!(true));
    suspended["spec"]
        .as_object_mut()
        .unwrap()
        .remove("shutdown");
    assert_eq!(suspended, running);
    assert!(running["spec"].get("shutdown").is_none());
}

#[test]
fn ha_clusters_prefer_separate_nodes_and_zones() {
    let single = &manifest(&ClusterSpec::test())["spec"]["instances"][0];
    assert!(single.get("affinity").is_none() && single.get("topologySpreadConstraints").is_none());
    let ha = &manifest(&ClusterSpec::test().with_instances(2))["spec"]["instances"][0];
    let term =
        &ha["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(
        term["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        term["podAffinityTerm"]["labelSelector"]["matchLabels"],
        json!({
            "postgres-operator.crunchydata.com/cluster": "orders",
            "postgres-operator.crunchydata.com/instance-set": "instance1",
        })
    );
    assert_eq!(
        ha["topologySpreadConstraints"][0]["topologyKey"],
        "topology.kubernetes.io/zone"
    );
    assert_eq!(ha["replicas"], 2);
}

#[test]
fn instances_request_what_they_are_limited_to() {
    let set =
        &manifest(&ClusterSpec::test().with_cpu("500m").with_memory("1Gi"))["spec"]["instances"][0];
    assert_eq!(set["name"], "instance1");
    assert_eq!(
        set["resources"]["requests"],
        json!({ "cpu": "500m", "memory": "1Gi" })
    );
    assert_eq!(set["resources"]["limits"], set["resources"]["requests"]);
    assert_eq!(
        set["dataVolumeClaimSpec"],
        json!({
            "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "20Gi" } }
        })
    );
}

#[test]
fn parameters_are_the_effective_set_as_strings() {
    let spec = contract_example();
    let parameters = &manifest(&spec)["spec"]["config"]["parameters"];
    let expected: serde_json::Map<String, Value> = spec
        .effective_parameters()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    assert_eq!(parameters, &Value::Object(expected));
    assert_eq!(parameters["max_connections"], "200");
    assert!(
        parameters
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_string)
    );
}

#[test]
fn the_owner_comes_first_then_extra_users() {
    let users = &manifest(&everything())["spec"]["users"];
    assert_eq!(
        users[0],
        json!({ "name": "orders", "databases": ["orders"] })
    );
    assert_eq!(
        users[1],
        json!({ "name": "reporting", "databases": ["orders"], "options": "NOLOGIN" })
    );
    assert_eq!(users.as_array().unwrap().len(), 3);
}

#[test]
fn the_pooler_gets_a_fixed_size_and_spreads_when_replicated() {
    let proxy = &manifest(&ClusterSpec::test().with_pooler(true, 2))["spec"]["proxy"]["pgBouncer"];
    assert_eq!(proxy["replicas"], 2);
    assert_eq!(
        proxy["resources"]["limits"],
        json!({ "cpu": "100m", "memory": "128Mi" })
    );
    assert!(proxy.get("affinity").is_some());
    let single = &manifest(&ClusterSpec::test().with_pooler(true, 1))["spec"]["proxy"]["pgBouncer"];
    assert!(single.get("affinity").is_none());
}

#[test]
fn the_longest_name_with_the_most_users_and_parameters_is_admitted() {
    let mut spec = ClusterSpec::test()
        .named(&"n".repeat(37))
        .with_instances(3)
        .with_pooler(true, 3);
    for i in 0..63 {
        spec = spec.with_user(
            &format!("user-{i}-{}", "x".repeat(50)),
            &["shared"],
            Some("LOGIN"),
        );
    }
    for (name, value) in [
        ("autovacuum_naptime", "30s"),
        ("deadlock_timeout", "2s"),
        ("hot_standby_feedback", "on"),
        ("idle_session_timeout", "1h"),
        ("jit", "on"),
        ("lock_timeout", "10s"),
        ("log_disconnections", "on"),
        ("log_statement", "ddl"),
        ("max_locks_per_transaction", "256"),
        ("max_parallel_workers", "8"),
        ("max_worker_processes", "16"),
        ("track_io_timing", "on"),
    ] {
        spec = spec.with_parameter(name, value);
    }
    let manifest = admitted(&spec);
    assert_eq!(manifest["spec"]["users"].as_array().unwrap().len(), 64);
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let mut broken = manifest(&ClusterSpec::test());
    broken["spec"]["instances"][0]["replicas"] = json!(0);
    broken["spec"]["postgresVersion"] = json!(10);
    broken["spec"]["users"][0]["name"] = json!("Bad_Name");
    broken["spec"]["instances"][0]["resources"]["limits"]["cpu"] = json!("1 core");
    let parameters = broken["spec"]["config"]["parameters"]
        .as_object_mut()
        .unwrap();
    for i in 0..40 {
        parameters.insert(format!("custom.setting_{i}"), json!("1"));
    }
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &broken);
        assert_eq!(errors.len(), 5, "PGO {version}: {errors:#?}");
    }
    broken["spec"]["config"]["parameters"]["port"] = json!("5433");
    assert_eq!(
        cel_violations(&broken),
        ["parameter port: change port using .spec.port instead"]
    );
}

#[test]
fn a_pinned_image_is_the_only_addition_and_both_crds_admit_it() {
    let spec = everything();
    let image = "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.6-2550";
    let pinned = desired_postgrescluster(&ManifestInput {
        image: Some(image),
        ..input(&spec)
    });
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &pinned);
        assert!(errors.is_empty(), "PGO {version}: {errors:#?}");
    }
    assert_eq!(pinned["spec"]["image"], image);
    let mut unpinned = pinned.clone();
    unpinned["spec"].as_object_mut().unwrap().remove("image");
    assert_eq!(unpinned, manifest(&spec));
}

fn with_certificates(spec: &ClusterSpec) -> Value {
    manifest_with(spec, true)
}

fn standby_of(source: &str, spec: ClusterSpec) -> ClusterSpec {
    ClusterSpec {
        standby: Some(StandbySource {
            source: source.into(),
        }),
        ..spec
    }
}

#[test]
fn tenant_certificates_name_both_secrets_and_both_crds_admit_them() {
    let spec = everything();
    let m = with_certificates(&spec);
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &m);
        assert!(errors.is_empty(), "PGO {version}: {errors:#?}");
    }
    assert_eq!(
        m["spec"]["customTLSSecret"],
        json!({ "name": "orders-tls" })
    );
    assert_eq!(
        m["spec"]["customReplicationTLSSecret"],
        json!({ "name": "orders-replication-tls" })
    );
    let mut without = m.clone();
    let body = without["spec"].as_object_mut().unwrap();
    body.remove("customTLSSecret");
    body.remove("customReplicationTLSSecret");
    assert_eq!(
        without,
        manifest(&spec),
        "the certificates are the only addition"
    );
}

#[test]
fn a_standby_streams_from_the_source_primary_and_takes_no_backups_until_promoted() {
    let spec = standby_of("orders", ClusterSpec::test().named("orders-dr"));
    assert!(
        spec.backups.enabled,
        "the tenant's backup settings are kept"
    );
    let m = with_certificates(&spec);
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &m);
        assert!(errors.is_empty(), "PGO {version}: {errors:#?}");
    }
    assert!(cel_violations(&m).is_empty());
    assert_eq!(
        m["spec"]["standby"],
        json!({ "enabled": true, "host": "orders-primary.pgplane-acme.svc", "port": 5432 })
    );
    assert!(
        m["spec"].get("backups").is_none(),
        "no repository while read-only"
    );
    assert!(
        m["metadata"]["annotations"]
            .get("postgres-operator.crunchydata.com/authorizeBackupRemoval")
            .is_none(),
        "nothing to remove: a standby never had a repository"
    );
    assert_eq!(m["spec"]["customTLSSecret"]["name"], "orders-dr-tls");

    // On another site (here: another Kubernetes cluster), the driver names the address.
    let host = "orders-primary.pgplane-acme.svc.clusterset.local";
    let elsewhere = desired_postgrescluster(&ManifestInput {
        namespace: "dr-acme",
        tenant_certificates: true,
        standby_host: Some(host),
        ..input(&spec)
    });
    for version in PGO_VERSIONS {
        let errors = schema_errors(version, &elsewhere);
        assert!(errors.is_empty(), "PGO {version}: {errors:#?}");
    }
    assert_eq!(
        elsewhere["spec"]["standby"],
        json!({ "enabled": true, "host": host, "port": 5432 })
    );
    assert_eq!(elsewhere["metadata"]["namespace"], "dr-acme");

    let promoted = ClusterSpec {
        standby: None,
        ..spec
    };
    let m = with_certificates(&promoted);
    assert!(m["spec"].get("standby").is_none());
    assert!(m["spec"]["backups"]["pgbackrest"]["repos"].is_array());
}
