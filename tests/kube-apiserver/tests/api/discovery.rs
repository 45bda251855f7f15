//! Discovery, `/version`, and the kubeconfig the server hands out.

use kube::api::{Api, DynamicObject};
use kube::discovery::{Discovery, Scope};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn kube_discovery_finds_every_served_resource_with_the_right_scope() {
    let server = server().await;
    let client = server.client();
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            let scope = if caps.scope == Scope::Namespaced {
                "ns"
            } else {
                "cluster"
            };
            found.push(format!("{}/{} {scope}", ar.group, ar.plural));
        }
    }
    found.sort();
    assert_eq!(
        found,
        vec![
            "/configmaps ns",
            "/events ns",
            "/limitranges ns",
            "/namespaces cluster",
            "/persistentvolumeclaims ns",
            "/pods ns",
            "/resourcequotas ns",
            "/secrets ns",
            "/services ns",
            "apps/statefulsets ns",
            "coordination.k8s.io/leases ns",
            "networking.k8s.io/networkpolicies ns",
            "postgres-operator.crunchydata.com/pgupgrades ns",
            "postgres-operator.crunchydata.com/postgresclusters ns",
            "storage.k8s.io/storageclasses cluster",
        ]
    );
    let (ar, caps) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "postgres-operator.crunchydata.com",
            "v1beta1",
            "PostgresCluster",
        ))
        .expect("PostgresCluster known");
    assert!(
        caps.subresources
            .iter()
            .any(|(s, _)| s.plural == "postgresclusters/status" || s.plural == "status"),
        "{:?}",
        caps.subresources
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    assert!(
        api.list(&Default::default())
            .await
            .expect("list via discovered resource")
            .items
            .is_empty()
    );

    let aggregated = Discovery::new(client)
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    assert!(aggregated.has_group("postgres-operator.crunchydata.com"));
}

#[tokio::test]
async fn version_and_health_endpoints_answer() {
    let server = server().await;
    let client = server.client();
    let info = client.apiserver_version().await.expect("version");
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
    let health = raw(&client, "GET", "/healthz", None, None).await;
    assert_eq!((health.code, health.body.as_str()), (200, "ok"));
    let groups = raw(
        &client,
        "GET",
        "/apis/postgres-operator.crunchydata.com",
        None,
        None,
    )
    .await
    .json();
    assert_eq!(
        groups["preferredVersion"],
        json!({ "groupVersion": "postgres-operator.crunchydata.com/v1beta1", "version": "v1beta1" })
    );
}

#[tokio::test]
async fn the_kubeconfig_points_kubes_loader_at_the_server() {
    let server = server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("written");
    let text = std::fs::read_to_string(&path).expect("readable");
    assert!(text.contains(&server.url()));
    let client = server
        .client_from_kubeconfig()
        .await
        .expect("client from kubeconfig");
    assert_eq!(client.default_namespace(), "default");
    clusters(client, "default")
        .list(&Default::default())
        .await
        .expect("works");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let server = server().await;
    let client = server.client_with(|c| c.default_retry = false);
    server.shutdown().await;
    assert!(
        clusters(client, "default")
            .list(&Default::default())
            .await
            .is_err()
    );
}
