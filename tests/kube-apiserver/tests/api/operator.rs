//! The simulated operator, scenario by scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube_test_apiserver::operator::{
    BACKUP_ANNOTATION, FINALIZER, OperatorOptions, Scenario, SimulatedOperator,
};
use kube_test_apiserver::{FaultKind, FaultTarget, TestApiServer};
use serde_json::{Value, json};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

async fn running(scenario: Scenario) -> (TestApiServer, SimulatedOperator, Api<DynamicObject>) {
    let server = server().await;
    let operator = SimulatedOperator::start(&server, OperatorOptions::with_scenario(scenario));
    let api = clusters(server.client(), "default");
    (server, operator, api)
}

async fn apply(api: &Api<DynamicObject>, manifest: Value) -> DynamicObject {
    let name = manifest["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    api.patch(
        &name,
        &PatchParams::apply("pgplane").force(),
        &Patch::Apply(manifest),
    )
    .await
    .expect("applied")
}

/// Waits until the cluster's status satisfies `ready`.
async fn until_status(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> DynamicObject {
    eventually(WAIT, what, || async {
        let o = api.get(name).await.ok()?;
        ready(o.data.get("status").unwrap_or(&Value::Null)).then_some(o)
    })
    .await
}

/// `readyReplicas` of the first set (PGO omits a zero count, as Go's `omitempty`).
fn ready_replicas(status: &Value) -> Option<i64> {
    let set = status["instances"].get(0)?;
    Some(set["readyReplicas"].as_i64().unwrap_or(0))
}

fn decoded(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).to_string()))
        .collect()
}

fn condition<'a>(status: &'a Value, ty: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_created_cluster_becomes_ready_with_its_secrets_and_services() {
    let (server, _operator, api) = running(Scenario::healthy()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([{ "name": "app", "databases": ["appdb"] }]);
    m["spec"]["proxy"] = json!({ "pgBouncer": {} });
    apply(&api, m).await;
    let ready = until_status(&api, "hippo", "ready", |s| {
        s["observedGeneration"] == 1 && ready_replicas(s) == Some(1)
    })
    .await;
    let status = &ready.data["status"];
    assert!(
        ready
            .metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .contains(&FINALIZER.to_string())
    );
    assert_eq!(
        condition(status, "PGBackRestReplicaRepoReady")["status"],
        "True"
    );
    assert_eq!(
        condition(status, "PGBackRestReplicaCreate")["reason"],
        "RepoBackupComplete"
    );
    assert_eq!(
        condition(status, "PGBackRestRepoHostReady")["status"],
        "True"
    );
    assert_eq!(condition(status, "ProxyAvailable")["status"], "True");
    assert_eq!(status["proxy"]["pgBouncer"]["readyReplicas"], 1);
    assert_eq!(status["pgbackrest"]["repos"][0]["stanzaCreated"], true);
    assert_eq!(status["pgbackrest"]["repoHost"]["ready"], true);
    assert!(
        status.get("postgresVersion").is_none(),
        "PGO writes it only after a major upgrade"
    );
    assert!(
        status["patroni"]["systemIdentifier"]
            .as_str()
            .is_some_and(|s| s.len() == 19)
    );
    assert!(status["usersRevision"].is_string() && status["databaseRevision"].is_string());
    assert_eq!(status["instances"][0]["name"], "instance1");

    let uid = ready.metadata.uid.clone().expect("uid");
    let client = server.client();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let user = secrets.get("hippo-pguser-app").await.expect("user secret");
    let data = decoded(&user);
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "dbname",
            "host",
            "jdbc-uri",
            "password",
            "pgbouncer-host",
            "pgbouncer-jdbc-uri",
            "pgbouncer-port",
            "pgbouncer-uri",
            "port",
            "uri",
            "user",
            "verifier"
        ]
    );
    assert_eq!(data["host"], "hippo-primary.default.svc");
    assert_eq!(data["port"], "5432");
    assert_eq!(data["pgbouncer-host"], "hippo-pgbouncer.default.svc");
    // PGO's default password policy includes URI delimiters; `uri` escapes them as Go's
    // `url.UserPassword` does.
    let escaped: String = data["password"]
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~$&+,;=".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert_eq!(
        data["uri"],
        format!("postgresql://app:{escaped}@hippo-primary.default.svc:5432/appdb")
    );
    assert!(data["verifier"].starts_with("SCRAM-SHA-256$4096:"));
    let labels = user.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("postgres-operator.crunchydata.com/cluster")
            .map(String::as_str),
        Some("hippo")
    );
    assert_eq!(
        labels
            .get("postgres-operator.crunchydata.com/role")
            .map(String::as_str),
        Some("pguser")
    );
    assert_eq!(
        labels
            .get("postgres-operator.crunchydata.com/pguser")
            .map(String::as_str),
        Some("app")
    );
    let owner = &user.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("PostgresCluster", uid.as_str(), Some(true))
    );

    let cert = decoded(
        &secrets
            .get("hippo-cluster-cert")
            .await
            .expect("cert secret"),
    );
    assert!(
        cert["ca.crt"].starts_with("-----BEGIN CERTIFICATE-----\n")
            && cert["ca.crt"].ends_with("-----END CERTIFICATE-----\n")
    );

    let services: Api<Service> = Api::namespaced(client, "default");
    let primary = services.get("hippo-primary").await.expect("primary");
    assert_eq!(
        primary.spec.clone().and_then(|s| s.cluster_ip).as_deref(),
        Some("None")
    );
    let replicas = services.get("hippo-replicas").await.expect("replicas");
    assert_eq!(
        replicas
            .spec
            .and_then(|s| s.selector)
            .and_then(|s| s.get("postgres-operator.crunchydata.com/role").cloned())
            .as_deref(),
        Some("replica")
    );
    let pooler = services.get("hippo-pgbouncer").await.expect("pgbouncer");
    assert_eq!(
        pooler.spec.and_then(|s| s.ports).map(|p| p[0].name.clone()),
        Some(Some("pgbouncer".into()))
    );
}

#[tokio::test]
async fn pgo_creates_a_default_user_named_after_the_cluster() {
    let (server, _operator, api) = running(Scenario::healthy()).await;
    apply(&api, cluster_manifest("hippo")).await;
    let secrets: Api<Secret> = Api::namespaced(server.client(), "default");
    let secret = eventually(WAIT, "default user secret", || async {
        secrets.get("hippo-pguser-hippo").await.ok()
    })
    .await;
    let data = decoded(&secret);
    assert_eq!(data["dbname"], "hippo");
    assert!(
        !data.contains_key("pgbouncer-host"),
        "no pooler, no pooler keys"
    );
}

#[tokio::test]
async fn scaling_instances_converges_ready_replicas_and_observed_generation() {
    let (_server, _operator, api) = running(Scenario::healthy()).await;
    apply(&api, cluster_manifest("hippo")).await;
    until_status(&api, "hippo", "ready", |s| ready_replicas(s) == Some(1)).await;
    let mut scaled = cluster_manifest("hippo");
    scaled["spec"]["instances"][0]["replicas"] = json!(3);
    assert_eq!(apply(&api, scaled).await.metadata.generation, Some(2));
    let converged = until_status(&api, "hippo", "scaled", |s| {
        s["observedGeneration"] == 2 && ready_replicas(s) == Some(3)
    })
    .await;
    assert_eq!(
        converged.data["status"]["instances"][0]["updatedReplicas"],
        3
    );
}

#[tokio::test]
async fn shutting_a_cluster_down_brings_every_replica_to_zero() {
    let (_server, _operator, api) = running(Scenario::healthy()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["proxy"] = json!({ "pgBouncer": { "replicas": 2 } });
    apply(&api, m.clone()).await;
    until_status(&api, "hippo", "ready", |s| {
        ready_replicas(s) == Some(1) && s["proxy"]["pgBouncer"]["readyReplicas"] == 2
    })
    .await;
    m["spec"]["shutdown"] = json!(true);
    apply(&api, m).await;
    until_status(&api, "hippo", "shut down", |s| {
        s["observedGeneration"] == 2
            && ready_replicas(s) == Some(0)
            && s["proxy"]["pgBouncer"].get("readyReplicas").is_none()
    })
    .await;
}

#[tokio::test]
async fn a_slow_operator_observes_a_new_generation_only_after_its_delay() {
    let (_server, _operator, api) = running(Scenario::slow(Duration::from_millis(400))).await;
    let started = std::time::Instant::now();
    apply(&api, cluster_manifest("hippo")).await;
    until_status(&api, "hippo", "initial status", |s| {
        s["instances"][0]["name"] == "instance1"
    })
    .await;
    let early = api.get("hippo").await.expect("cluster");
    if started.elapsed() < Duration::from_millis(350) {
        assert!(
            early.data["status"].get("observedGeneration").is_none(),
            "not observed yet: {}",
            early.data["status"]
        );
    }
    until_status(&api, "hippo", "observed", |s| s["observedGeneration"] == 1).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn never_ready_and_failing_clusters_are_observed_but_not_ready() {
    let (_server, operator, api) = running(Scenario::healthy()).await;
    operator.set_scenario("default", "stuck", Scenario::never_ready());
    operator.set_scenario(
        "default",
        "broken",
        Scenario::fails_with("ImagePullBackOff"),
    );
    apply(&api, cluster_manifest("stuck")).await;
    apply(&api, cluster_manifest("broken")).await;
    let stuck = until_status(&api, "stuck", "observed", |s| s["observedGeneration"] == 1).await;
    assert_eq!(ready_replicas(&stuck.data["status"]), Some(0));
    assert_eq!(
        condition(&stuck.data["status"], "PGBackRestReplicaRepoReady")["reason"],
        "StanzaNotCreated"
    );
    let broken = until_status(&api, "broken", "observed", |s| s["observedGeneration"] == 1).await;
    let c = condition(&broken.data["status"], "PGBackRestReplicaRepoReady");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("False"), Some("ImagePullBackOff"))
    );
}

#[tokio::test]
async fn deleting_a_cluster_removes_its_children_and_then_its_finalizer() {
    let (server, _operator, api) = running(Scenario::healthy()).await;
    apply(&api, cluster_manifest("hippo")).await;
    until_status(&api, "hippo", "ready", |s| ready_replicas(s) == Some(1)).await;
    api.delete("hippo", &DeleteParams::default())
        .await
        .expect("delete accepted");
    eventually(WAIT, "cluster gone", || async {
        api.get("hippo").await.err()
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(server.client(), "default");
    let left = secrets
        .list(
            &kube::api::ListParams::default()
                .labels("postgres-operator.crunchydata.com/cluster=hippo"),
        )
        .await
        .expect("list");
    assert!(left.items.is_empty(), "children deleted");
    let deletes_by_operator = server
        .requests()
        .iter()
        .filter(|r| r.is_from_operator() && r.verb == kube_test_apiserver::Verb::Delete)
        .count();
    assert!(
        deletes_by_operator >= 4,
        "the operator deleted its children itself ({deletes_by_operator})"
    );
}

#[tokio::test]
async fn a_cluster_stuck_on_delete_stays_terminating() {
    let (_server, _operator, api) = running(Scenario::healthy().stuck_on_delete()).await;
    apply(&api, cluster_manifest("hippo")).await;
    until_status(&api, "hippo", "finalizer", |s| ready_replicas(s) == Some(1)).await;
    api.delete("hippo", &DeleteParams::default())
        .await
        .expect("delete accepted");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = api.get("hippo").await.expect("still there");
    assert!(still.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn removing_the_pooler_removes_its_service_and_secret_keys() {
    let (server, _operator, api) = running(Scenario::healthy()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["proxy"] = json!({ "pgBouncer": {} });
    apply(&api, m).await;
    let services: Api<Service> = Api::namespaced(server.client(), "default");
    eventually(WAIT, "pooler service", || async {
        services.get("hippo-pgbouncer").await.ok()
    })
    .await;
    apply(&api, cluster_manifest("hippo")).await;
    eventually(WAIT, "pooler service deleted", || async {
        services.get("hippo-pgbouncer").await.err()
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(server.client(), "default");
    let data = eventually(WAIT, "keys dropped", || async {
        let d = decoded(&secrets.get("hippo-pguser-hippo").await.ok()?);
        (!d.contains_key("pgbouncer-host")).then_some(d)
    })
    .await;
    assert!(!data.contains_key("pgbouncer-uri"));
}

#[tokio::test]
async fn a_manual_backup_request_is_reported_as_completed() {
    let (_server, _operator, api) = running(Scenario::healthy()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["backups"]["pgbackrest"]["manual"] =
        json!({ "repoName": "repo1", "options": ["--type=full"] });
    m["metadata"]["annotations"] = json!({ BACKUP_ANNOTATION: "backup-1" });
    apply(&api, m).await;
    let done = until_status(&api, "hippo", "backup", |s| {
        s["pgbackrest"]["manualBackup"]["finished"] == true
    })
    .await;
    assert_eq!(
        done.data["status"]["pgbackrest"]["manualBackup"]["id"],
        "backup-1"
    );
    assert_eq!(
        condition(&done.data["status"], "PGBackRestManualBackupSuccessful")["status"],
        "True"
    );
}

#[tokio::test]
async fn the_operator_rides_out_faults_aimed_at_it() {
    let (server, _operator, api) = running(Scenario::healthy()).await;
    server.faults().set_target(FaultTarget {
        include_operator: true,
        ..Default::default()
    });
    server
        .faults()
        .set_error_rate(0.3, FaultKind::ServiceUnavailable);
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([{ "name": "app", "databases": ["app"] }]);
    let client = server.client();
    let applied = clusters(client, "default")
        .patch(
            "hippo",
            &PatchParams::apply("pgplane").force(),
            &Patch::Apply(m),
        )
        .await;
    assert!(
        applied.is_ok(),
        "kube's retries cover pgplane's own request: {applied:?}"
    );
    server
        .faults()
        .set_error_rate(0.3, FaultKind::ServiceUnavailable);
    until_status(&api, "hippo", "ready despite faults", |s| {
        ready_replicas(s) == Some(1)
    })
    .await;
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.is_from_operator() && r.code == 503),
        "the operator was hit"
    );
}
