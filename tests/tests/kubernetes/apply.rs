//! `apply_cluster`: one server-side apply of the domain manifest, admitted by the server's PGO
//! CRD validation.

use kube_test_apiserver::Verb;
use pgplane::domain::cluster::DatabaseUser;
use pgplane::platform::Platform;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn applying_a_cluster_creates_an_admitted_postgrescluster_with_labels_and_the_generation() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let mut orders = target(&acme, spec("orders"));
    orders.generation = 4;
    env.server.clear_requests();
    env.platform.apply_cluster(&orders).await.expect("applied");

    // Past generation 1 the data volumes are listed first (can they grow to the size?).
    let (reads, applies): (Vec<_>, Vec<_>) = env
        .driver_requests()
        .into_iter()
        .partition(|r| r.verb == Verb::List);
    assert!(
        reads.iter().all(|r| r.resource == "persistentvolumeclaims"),
        "{reads:?}"
    );
    assert_eq!(applies.len(), 1, "one write: {applies:?}");
    let apply = &applies[0];
    assert!(is_pgplane_apply(apply), "{apply:?}");
    assert_eq!(
        (apply.group.as_str(), apply.resource.as_str(), apply.code),
        ("postgres-operator.crunchydata.com", "postgresclusters", 201)
    );

    let object = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");
    let labels = object.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "pgplane");
    assert_eq!(labels["pgplane.io/tenant-id"], acme.tenant_id.to_string());
    assert_eq!(
        labels["pgplane.io/cluster-id"],
        orders.cluster_id.to_string()
    );
    assert_eq!(labels["pgplane.io/tenant"], "acme");
    let annotations = object.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations["pgplane.io/generation"], "4");
    assert_eq!(object.data["spec"]["instances"][0]["name"], "instance1");
    assert_eq!(object.data["spec"]["users"][0]["name"], "orders");
}

#[tokio::test]
async fn applying_a_changed_spec_updates_the_cluster_and_its_generation() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let mut orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("first");
    let first = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");

    orders.generation = 2;
    orders.spec.instances = 3;
    orders.spec.pooler.enabled = true;
    env.platform.apply_cluster(&orders).await.expect("second");
    let second = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");
    assert_eq!(second.data["spec"]["instances"][0]["replicas"], 3);
    assert!(second.data["spec"]["proxy"]["pgBouncer"].is_object());
    assert_eq!(
        second.metadata.annotations.unwrap_or_default()["pgplane.io/generation"],
        "2"
    );
    assert_eq!(
        second.metadata.generation,
        first.metadata.generation.map(|g| g + 1)
    );
    assert_eq!(second.metadata.uid, first.metadata.uid, "updated in place");

    orders.spec.pooler.enabled = false;
    orders.generation = 3;
    env.platform.apply_cluster(&orders).await.expect("third");
    let third = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");
    assert!(
        third.data["spec"].get("proxy").is_none(),
        "a disabled pooler is removed although the CRD defaults its fields: {}",
        third.data["spec"]
    );
}

#[tokio::test]
async fn applying_the_same_target_again_changes_nothing() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("first");
    let first = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");
    env.platform.apply_cluster(&orders).await.expect("again");
    let again = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("exists");
    assert_eq!(again.metadata.generation, first.metadata.generation);
}

#[tokio::test]
async fn applying_a_cluster_of_a_tenant_without_a_namespace_ensures_the_tenant_first() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform
        .apply_cluster(&target(&acme, spec("orders")))
        .await
        .expect("applied");
    let calls: Vec<String> = env
        .driver_requests()
        .iter()
        .map(|r| format!("{} {} {}", r.verb.as_str(), r.resource, r.code))
        .collect();
    assert_eq!(
        calls,
        [
            "list persistentvolumeclaims 200",
            "patch postgresclusters 404",
            "get namespaces 404",
            "patch namespaces 201",
            "list persistentvolumeclaims 200",
            "patch resourcequotas 201",
            "patch limitranges 201",
            "patch networkpolicies 201",
            "patch postgresclusters 201",
        ]
    );
    assert!(env.namespace("pgplane-acme").await.is_some());
}

#[tokio::test]
async fn every_feature_combination_the_domain_allows_is_admitted() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let mut ha = spec("ha");
    ha.instances = 3;
    ha.pooler.enabled = true;
    ha.pooler.replicas = 2;
    ha.monitoring.enabled = true;
    ha.storage.class = Some("fast".into());
    ha.parameters.insert("max_connections".into(), "200".into());
    ha.users.push(DatabaseUser {
        name: "reporting".into(),
        databases: vec!["ha".into()],
        options: Some("NOSUPERUSER".into()),
    });
    let mut lean = spec("lean");
    lean.backups.enabled = false;
    lean.suspended = true;
    lean.postgres_version = 15;
    for s in [ha, lean] {
        let name = s.name.clone();
        env.platform
            .apply_cluster(&target(&acme, s))
            .await
            .unwrap_or_else(|e| panic!("{name} must be admitted: {e}"));
    }
    let lean = env
        .clusters("pgplane-acme")
        .get("lean")
        .await
        .expect("lean");
    assert_eq!(lean.data["spec"]["shutdown"], json!(true));
    assert!(lean.data["spec"].get("backups").is_none());
    let writes = env
        .driver_requests()
        .into_iter()
        .filter(|r| r.verb == Verb::Patch)
        .count();
    assert!(writes >= 2);
}
