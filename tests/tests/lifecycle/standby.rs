//! Standby clusters for disaster recovery: a standby follows another cluster of the tenant by
//! streaming replication (PGO `spec.standby.host`), authenticated by certificates pgplane
//! issues from the tenant's CA to both clusters, stays read-only, and is promoted to a writable
//! primary by an operation. The simulated operator only lets a standby copy its source when
//! both run with certificates of the same CA, as PGO requires.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DynamicObject, ListParams};
use kube_test_apiserver::operator::Scenario;
use kube_test_apiserver::{TestApiServer, postgrescluster_resource};
use pgplane::platform::kubernetes::{KubernetesOptions, RecoverySite, RemoteSite};
use serde_json::{Value, json};

use crate::day2::{ready_cluster, run};
use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);
const CLUSTERS: &str = "/v1/tenants/acme/clusters";
const NAMESPACE: &str = "pgplane-acme";

async fn create_standby(world: &World, name: &str, source: &str) -> Value {
    let op = world
        .app
        .admin()
        .post(
            CLUSTERS,
            json!({"name": name, "standby": {"source": source}}),
        )
        .await
        .expect(202)
        .json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await
}

async fn secret(world: &World, name: &str) -> Secret {
    secret_in(world, NAMESPACE, name).await
}

async fn secret_in(world: &World, namespace: &str, name: &str) -> Secret {
    let api: Api<Secret> = Api::namespaced(world.kube.client(), namespace);
    api.get(name).await.expect(name)
}

fn key(secret: &Secret, key: &str) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

async fn postgrescluster(world: &World, name: &str) -> Value {
    let found = world.postgresclusters().await;
    let cluster = found
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no PostgresCluster {name}"));
    json!({"metadata": cluster.metadata, "data": cluster.data})
}

async fn wait_for_phase(world: &World, name: &str, phase: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let cluster = world
            .app
            .admin()
            .get(&format!("{CLUSTERS}/{name}"))
            .await
            .expect(200)
            .json();
        if cluster["status"]["phase"] == phase {
            return cluster;
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "{name} never {phase}: {cluster}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reveal(world: &World, cluster: &str) -> Value {
    let path = format!("{CLUSTERS}/{cluster}/connection?reveal=true");
    world.app.admin().get(&path).await.expect(200).json()["password"].clone()
}

fn system_identifier(cluster: &Value) -> Value {
    cluster["data"]["status"]["patroni"]["systemIdentifier"].clone()
}

#[tokio::test]
async fn a_standby_follows_its_source_read_only_and_is_promoted_to_a_writable_primary() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"postgres_version": 17})).await;
    let admin = world.app.admin();

    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let standby = wait_for_phase(&world, "orders-dr", "ready").await;
    assert_eq!(standby["spec"]["standby"], json!({"source": "orders"}));
    assert_eq!(
        standby["spec"]["postgres_version"], 17,
        "the source's version by default"
    );
    assert_eq!(
        (&standby["spec"]["database"], &standby["spec"]["owner"]),
        (&json!("orders"), &json!("orders")),
        "a physical copy holds the source's database and owner"
    );

    // The source was moved onto the tenant's certificates by an update of its own.
    let ops = admin
        .get("/v1/tenants/acme/operations?cluster=orders")
        .await
        .expect(200)
        .json();
    assert!(
        ops["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "update" && o["state"] == "succeeded"),
        "{ops}"
    );
    let source = postgrescluster(&world, "orders").await;
    assert_eq!(
        source["data"]["spec"]["customTLSSecret"]["name"],
        "orders-tls"
    );
    let dr = postgrescluster(&world, "orders-dr").await;
    assert_eq!(
        dr["data"]["spec"]["standby"],
        json!({"enabled": true, "host": "orders-primary.pgplane-acme.svc", "port": 5432})
    );
    assert!(dr["data"]["spec"].get("backups").is_none(), "{dr}");
    assert_eq!(
        system_identifier(&dr),
        system_identifier(&source),
        "a physical copy of its source"
    );

    // One CA for the tenant signs both clusters' certificates.
    let ca = key(&secret(&world, "pgplane-tenant-ca").await, "ca.crt");
    for name in [
        "orders-tls",
        "orders-replication-tls",
        "orders-dr-tls",
        "orders-dr-replication-tls",
    ] {
        let s = secret(&world, name).await;
        assert_eq!(key(&s, "ca.crt"), ca, "{name}");
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            owner.kind, "PostgresCluster",
            "{name} goes with its cluster"
        );
    }
    let connection = admin
        .get(&format!("{CLUSTERS}/orders-dr/connection"))
        .await
        .expect(200)
        .json();
    assert_eq!(connection["ca_certificate"], ca.as_str(), "{connection}");
    // While it replays the source's roles, the source's password is the one that logs in.
    let source_password = reveal(&world, "orders").await;
    assert!(source_password.is_string());
    assert_eq!(reveal(&world, "orders-dr").await, source_password);

    // Read-only until promoted.
    let problem = admin
        .post(
            &format!("{CLUSTERS}/orders-dr/backups"),
            json!({"type": "full"}),
        )
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("standby of `orders`"),
        "{problem}"
    );
    admin
        .put(
            &format!("{CLUSTERS}/orders-dr/databases/orders/extensions/pg_trgm"),
            json!(null),
        )
        .await
        .expect_problem(409, None);
    // Its extensions are the source's, replicated.
    let listed = admin
        .get(&format!("{CLUSTERS}/orders-dr/databases/orders/extensions"))
        .await
        .expect(200)
        .json();
    assert!(listed["items"].to_string().contains("pgaudit"), "{listed}");
    admin
        .patch(&format!("{CLUSTERS}/orders-dr"), json!({"standby": null}))
        .await
        .expect_problem(422, Some("standby"));

    // Promotion: the answer warns that the old primary still takes writes.
    let op = admin
        .post(&format!("{CLUSTERS}/orders-dr/promote"), json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(op["kind"], "promote");
    let warning = op["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("`orders` still exists") && warning.contains("accepting writes"),
        "{warning}"
    );
    let promoted = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(promoted["state"], "succeeded", "{promoted}");
    let cluster = admin
        .get(&format!("{CLUSTERS}/orders-dr"))
        .await
        .expect(200)
        .json();
    assert_eq!(cluster["spec"]["standby"], Value::Null, "{cluster}");
    // Promoted, PGO sets its own Secret's password on the role.
    let own = reveal(&world, "orders-dr").await;
    assert!(own.is_string() && own != source_password, "{own}");

    // Now a primary: PGO's standby block is gone, backups are configured, writes work.
    let scaled = run_patch(&world, "orders-dr", json!({"instances": 2})).await;
    assert_eq!(scaled["state"], "succeeded", "{scaled}");
    let dr = postgrescluster(&world, "orders-dr").await;
    assert!(dr["data"]["spec"].get("standby").is_none(), "{dr}");
    assert!(dr["data"]["spec"]["backups"]["pgbackrest"]["repos"].is_array());
    let op = admin
        .put(
            &format!("{CLUSTERS}/orders-dr/databases/orders/extensions/pg_trgm"),
            json!(null),
        )
        .await
        .expect(202)
        .json();
    let enabled = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(enabled["state"], "succeeded", "{enabled}");
}

#[tokio::test]
async fn standby_requests_that_cannot_work_are_refused_with_the_reason() {
    let world = World::start(&[]).await;
    world.tenant("acme", 10).await;
    ready_cluster(&world, "orders", json!({"postgres_version": 17})).await;
    let admin = world.app.admin();

    admin
        .post(
            CLUSTERS,
            json!({"name": "dr", "standby": {"source": "billing"}}),
        )
        .await
        .expect_problem(422, Some("standby.source"));
    admin
        .post(
            CLUSTERS,
            json!({"name": "dr", "standby": {"source": "orders"}, "postgres_version": 18}),
        )
        .await
        .expect_problem(422, Some("postgres_version"));
    admin
        .post(
            CLUSTERS,
            json!({"name": "dr", "standby": {"source": "orders"}, "database": "dr"}),
        )
        .await
        .expect_problem(422, Some("database"));
    admin
        .post(
            CLUSTERS,
            json!({"name": "dr", "standby": {"source": "orders"}, "source": {"cluster": "orders"}}),
        )
        .await
        .expect_problem(422, Some("standby"));
    admin
        .post(&format!("{CLUSTERS}/orders/promote"), json!({}))
        .await
        .expect_problem(409, None);

    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let problem = admin
        .post(
            CLUSTERS,
            json!({"name": "dr2", "standby": {"source": "orders-dr"}}),
        )
        .await
        .expect_problem(422, Some("standby.source"));
    assert!(
        problem.to_string().contains("itself a standby"),
        "{problem}"
    );
    admin
        .post(
            CLUSTERS,
            json!({"name": "copy", "source": {"cluster": "orders-dr"}}),
        )
        .await
        .expect_problem(422, Some("source.cluster"));

    let suspended = run_patch(&world, "orders", json!({"suspended": true})).await;
    assert_eq!(suspended["state"], "succeeded", "{suspended}");
    let problem = admin
        .post(
            CLUSTERS,
            json!({"name": "dr3", "standby": {"source": "orders"}}),
        )
        .await
        .expect_problem(409, None);
    assert!(problem.to_string().contains("suspended"), "{problem}");
}

#[tokio::test]
async fn a_standby_outlives_its_lost_source_and_is_promoted_with_what_it_had() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let admin = world.app.admin();

    let op = admin
        .delete(&format!("{CLUSTERS}/orders"))
        .await
        .expect(202)
        .json();
    assert!(
        op["waiting_for"]
            .as_str()
            .unwrap_or_default()
            .contains("its standbys (orders-dr)"),
        "{op}"
    );
    let deleted = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(deleted["state"], "succeeded", "{deleted}");

    // Still ready, and still changeable, without its source.
    wait_for_phase(&world, "orders-dr", "ready").await;
    let op = admin
        .patch(
            &format!("{CLUSTERS}/orders-dr"),
            json!({"resources": {"cpu": "2"}}),
        )
        .await
        .expect(202)
        .json();
    let resized = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(resized["state"], "succeeded", "{resized}");

    let op = admin
        .post(&format!("{CLUSTERS}/orders-dr/promote"), json!({}))
        .await
        .expect(202)
        .json();
    assert!(
        op["warning"]
            .as_str()
            .unwrap_or_default()
            .contains("`orders` no longer exists"),
        "{op}"
    );
    let promoted = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(promoted["state"], "succeeded", "{promoted}");
}

#[tokio::test]
async fn a_promotion_that_never_completes_fails_at_its_deadline_and_leaves_a_standby() {
    let world = World::start(&["--operation-deadline-seconds", "10"]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    world.operator.set_scenario(
        NAMESPACE,
        "orders-dr",
        Scenario::healthy().promotion_stalls(),
    );

    let failed = run(&world, &format!("{CLUSTERS}/orders-dr/promote"), json!({})).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("deadline") && error.contains("leave recovery"),
        "{error}"
    );
    let cluster = world
        .app
        .admin()
        .get(&format!("{CLUSTERS}/orders-dr"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        cluster["spec"]["standby"],
        json!({"source": "orders"}),
        "still recorded as a standby: it did not become writable"
    );
}

/// The tenant's namespace on the recovery site in the DR tests.
const RECOVERY_NAMESPACE: &str = "dr-acme";

/// A world whose platform has a disaster-recovery site (`dr-<tenant>` namespaces).
async fn world_with_recovery_site() -> World {
    let options = KubernetesOptions {
        recovery: Some(RecoverySite {
            namespace_prefix: "dr-".into(),
            remote: None,
        }),
        ..crate::harness::options()
    };
    World::start_with(&["--dr-namespace-prefix", "dr-"], options).await
}

/// The ingress rules of the tenant isolation policy in `namespace` of `kube`.
async fn isolation_rules(kube: &TestApiServer, namespace: &str) -> Vec<Value> {
    let api: Api<NetworkPolicy> = Api::namespaced(kube.client(), namespace);
    let policy = api.get("pgplane-tenant-isolation").await.expect("policy");
    let policy = serde_json::to_value(policy).unwrap();
    policy["spec"]["ingress"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The ports of the isolation policy's rule admitting the namespace `peer`, if any.
async fn rule_admitting(world: &World, namespace: &str, peer: &str) -> Option<Value> {
    let rules = isolation_rules(&world.kube, namespace).await;
    rules
        .into_iter()
        .find(|rule| {
            rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                == peer
        })
        .map(|rule| rule["ports"].clone())
}

#[tokio::test]
async fn with_a_recovery_site_a_standby_runs_there_stays_there_when_promoted_and_fails_back_home() {
    let world = world_with_recovery_site().await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();

    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let standby = wait_for_phase(&world, "orders-dr", "ready").await;
    assert_eq!(standby["site"], "recovery", "{standby}");
    let source = wait_for_phase(&world, "orders", "ready").await;
    assert_eq!(source["site"], "home");

    // It runs in the tenant's recovery namespace and streams from the home namespace.
    let dr = postgrescluster(&world, "orders-dr").await;
    assert_eq!(dr["metadata"]["namespace"], RECOVERY_NAMESPACE);
    assert_eq!(
        dr["data"]["spec"]["standby"]["host"],
        "orders-primary.pgplane-acme.svc"
    );
    let home = postgrescluster(&world, "orders").await;
    assert_eq!(system_identifier(&dr), system_identifier(&home));

    // The recovery namespace is the tenant's, fenced like its home: labelled with the tenant,
    // under its quota, and the two namespaces reach each other's PostgreSQL port only.
    let ns: Api<Namespace> = Api::all(world.kube.client());
    let labels = ns.get(RECOVERY_NAMESPACE).await.unwrap().metadata.labels;
    assert_eq!(labels.unwrap()["pgplane.io/tenant"], "acme");
    let quotas: Api<ResourceQuota> = Api::namespaced(world.kube.client(), RECOVERY_NAMESPACE);
    quotas.get("pgplane-tenant-quota").await.expect("quota");
    let postgres_only = json!([{"port": "postgres", "protocol": "TCP"}]);
    assert_eq!(
        rule_admitting(&world, NAMESPACE, RECOVERY_NAMESPACE).await,
        Some(postgres_only.clone())
    );
    assert_eq!(
        rule_admitting(&world, RECOVERY_NAMESPACE, NAMESPACE).await,
        Some(postgres_only)
    );

    // Its certificates come from the tenant's one CA, whose key never leaves home.
    let ca = key(&secret(&world, "pgplane-tenant-ca").await, "ca.crt");
    for name in ["orders-dr-tls", "orders-dr-replication-tls"] {
        let s = secret_in(&world, RECOVERY_NAMESPACE, name).await;
        assert_eq!(key(&s, "ca.crt"), ca, "{name}");
    }
    let recovery_secrets: Api<Secret> = Api::namespaced(world.kube.client(), RECOVERY_NAMESPACE);
    assert!(
        recovery_secrets
            .get_opt("pgplane-tenant-ca")
            .await
            .unwrap()
            .is_none()
    );

    // Promoted, it is the primary where it stands; later changes stay there too.
    let promoted = run(&world, &format!("{CLUSTERS}/orders-dr/promote"), json!({})).await;
    assert_eq!(promoted["state"], "succeeded", "{promoted}");
    let scaled = run_patch(&world, "orders-dr", json!({"instances": 2})).await;
    assert_eq!(scaled["state"], "succeeded", "{scaled}");
    let copies: Vec<_> = world
        .postgresclusters()
        .await
        .into_iter()
        .filter(|c| c.metadata.name.as_deref() == Some("orders-dr"))
        .collect();
    assert_eq!(copies.len(), 1, "never re-created at home");
    assert_eq!(
        copies[0].metadata.namespace.as_deref(),
        Some(RECOVERY_NAMESPACE)
    );
    let cluster = admin
        .get(&format!("{CLUSTERS}/orders-dr"))
        .await
        .expect(200)
        .json();
    assert_eq!(cluster["site"], "recovery");

    // Failing back: a standby of the promoted cluster goes to the other site, home.
    let created = create_standby(&world, "orders-home", "orders-dr").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let back = wait_for_phase(&world, "orders-home", "ready").await;
    assert_eq!(back["site"], "home");
    let back = postgrescluster(&world, "orders-home").await;
    assert_eq!(back["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        back["data"]["spec"]["standby"]["host"],
        "orders-dr-primary.dr-acme.svc"
    );
    let dr = postgrescluster(&world, "orders-dr").await;
    assert_eq!(system_identifier(&back), system_identifier(&dr));

    // Deleting the recovery-site cluster removes it from its namespace.
    let deleted = run_delete(&world, "orders-dr").await;
    assert_eq!(deleted["state"], "succeeded", "{deleted}");
    assert!(
        !world
            .postgresclusters()
            .await
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("orders-dr"))
    );
}

/// Deletes the cluster `name` and waits for the operation to end.
async fn run_delete(world: &World, name: &str) -> Value {
    let path = format!("{CLUSTERS}/{name}");
    let op = world.app.admin().delete(&path).await.expect(202).json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await
}

/// Patches the cluster `name` and waits for the operation to end.
async fn run_patch(world: &World, name: &str, patch: Value) -> Value {
    let op = world
        .app
        .admin()
        .patch(&format!("{CLUSTERS}/{name}"), patch)
        .await
        .expect(202)
        .json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await
}

/// The last rule of the isolation policy in `namespace` of `kube`.
async fn last_rule(kube: &TestApiServer, namespace: &str) -> Value {
    let rules = isolation_rules(kube, namespace).await;
    rules.last().cloned().expect("the policy has rules")
}

/// The PostgresCluster `name` on `kube`, if it exists there.
async fn postgrescluster_on(kube: &TestApiServer, name: &str) -> Option<DynamicObject> {
    let api: Api<DynamicObject> = Api::all_with(kube.client(), &postgrescluster_resource());
    let all = api.list(&ListParams::default()).await.expect("list");
    all.items
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
}

#[tokio::test]
async fn with_a_recovery_site_in_another_kubernetes_cluster_a_standby_follows_across_clusters() {
    let options = KubernetesOptions {
        recovery: Some(RecoverySite {
            namespace_prefix: "pgplane-".into(),
            remote: Some(RemoteSite {
                service_domain: "svc.clusterset.local".into(),
                peer_cidrs: vec!["10.8.0.0/16".into()],
            }),
        }),
        ..crate::harness::options()
    };
    let args = ["--dr-kube-context", "dr", "--dr-peer-cidrs", "10.8.0.0/16"];
    let world = World::start_with_recovery_cluster(&args, options).await;
    let (recovery, _) = world.recovery.as_ref().expect("a recovery cluster");
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();

    let created = create_standby(&world, "orders-dr", "orders").await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let standby = wait_for_phase(&world, "orders-dr", "ready").await;
    assert_eq!(standby["site"], "recovery", "{standby}");

    // It runs in the other Kubernetes cluster only, following the exported primary Service.
    assert!(postgrescluster_on(&world.kube, "orders-dr").await.is_none());
    let dr = postgrescluster_on(recovery, "orders-dr")
        .await
        .expect("on the recovery site");
    assert_eq!(dr.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert_eq!(
        dr.data["spec"]["standby"]["host"],
        "orders-primary.pgplane-acme.svc.clusterset.local"
    );
    let home = postgrescluster_on(&world.kube, "orders").await.unwrap();
    assert_eq!(
        dr.data["status"]["patroni"]["systemIdentifier"],
        home.data["status"]["patroni"]["systemIdentifier"],
        "a physical copy across clusters"
    );

    // Both namespaces admit the other cluster's pods by address, to PostgreSQL only.
    let by_address = json!({
        "from": [{ "ipBlock": { "cidr": "10.8.0.0/16" } }],
        "ports": [{ "port": "postgres", "protocol": "TCP" }],
    });
    assert_eq!(last_rule(recovery, NAMESPACE).await, by_address);
    assert_eq!(last_rule(&world.kube, NAMESPACE).await, by_address);

    // Certificates from the one tenant CA at home, whose key stays there; the connection
    // facts come from the recovery cluster's own watch.
    let ca = key(&secret(&world, "pgplane-tenant-ca").await, "ca.crt");
    let remote_secrets: Api<Secret> = Api::namespaced(recovery.client(), NAMESPACE);
    let server = remote_secrets.get("orders-dr-tls").await.unwrap();
    assert_eq!(key(&server, "ca.crt"), ca);
    assert!(
        remote_secrets
            .get_opt("pgplane-tenant-ca")
            .await
            .unwrap()
            .is_none()
    );
    let connection = admin
        .get(&format!("{CLUSTERS}/orders-dr/connection"))
        .await
        .expect(200)
        .json();
    assert_eq!(connection["ca_certificate"], ca.as_str(), "{connection}");
    // What it replays came over from the home cluster's source.
    let listed = admin
        .get(&format!("{CLUSTERS}/orders-dr/databases/orders/extensions"))
        .await
        .expect(200)
        .json();
    assert!(listed["items"].to_string().contains("pgaudit"), "{listed}");

    // Promoted there (its primary is asked through the recovery cluster's API), then deleted.
    let promoted = run(&world, &format!("{CLUSTERS}/orders-dr/promote"), json!({})).await;
    assert_eq!(promoted["state"], "succeeded", "{promoted}");
    let deleted = run_delete(&world, "orders-dr").await;
    assert_eq!(deleted["state"], "succeeded", "{deleted}");
    assert!(postgrescluster_on(recovery, "orders-dr").await.is_none());
}
