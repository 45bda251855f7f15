//! Create / get / replace / delete round trips and the error shapes clients branch on.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::json;

use crate::support::*;

fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

#[tokio::test]
async fn every_served_type_round_trips_through_create_get_replace_and_delete() {
    let server = server().await;
    let client = server.client();
    let ns = "default";
    let secret: Secret =
        from(json!({ "metadata": { "name": "s" }, "stringData": { "password": "hunter2" } }));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let created = secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    assert_eq!(
        created
            .data
            .as_ref()
            .and_then(|d| d.get("password"))
            .map(|b| b.0.clone()),
        Some(b"hunter2".to_vec())
    );
    assert!(
        created.string_data.is_none(),
        "stringData is folded into data"
    );
    assert_eq!(created.type_.as_deref(), Some("Opaque"));

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let mut cm = configmaps
        .create(
            &PostParams::default(),
            &from(json!({ "metadata": { "name": "c" }, "data": { "a": "1" } })),
        )
        .await
        .expect("cm");
    cm.data = Some([("a".to_string(), "2".to_string())].into());
    let replaced = configmaps
        .replace("c", &PostParams::default(), &cm)
        .await
        .expect("replace");
    assert_eq!(
        replaced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("2")
    );
    assert_ne!(
        replaced.metadata.resource_version,
        cm.metadata.resource_version
    );

    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let svc = services
        .create(
            &PostParams::default(),
            &from(json!({ "metadata": { "name": "db" }, "spec": { "ports": [{ "port": 5432 }] } })),
        )
        .await
        .expect("service");
    let spec = svc.spec.expect("spec");
    assert!(
        spec.cluster_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "cluster IP allocated"
    );
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(
        spec.ports.expect("ports")[0].protocol.as_deref(),
        Some("TCP")
    );

    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), ns);
    quotas.create(&PostParams::default(), &from(json!({ "metadata": { "name": "q" }, "spec": { "hard": { "requests.storage": "10Gi" } } }))).await.expect("quota");
    let limits: Api<LimitRange> = Api::namespaced(client.clone(), ns);
    limits.create(&PostParams::default(), &from(json!({ "metadata": { "name": "l" }, "spec": { "limits": [{ "type": "Container", "default": { "cpu": "500m" } }] } }))).await.expect("limits");
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), ns);
    let np = policies.create(&PostParams::default(), &from(json!({ "metadata": { "name": "deny" }, "spec": { "podSelector": {}, "policyTypes": ["Ingress"] } }))).await.expect("netpol");
    assert_eq!(np.metadata.generation, Some(1));
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    leases.create(&PostParams::default(), &from(json!({ "metadata": { "name": "leader" }, "spec": { "holderIdentity": "a", "leaseDurationSeconds": 15 } }))).await.expect("lease");

    for name in ["s"] {
        secrets
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    let gone = status(secrets.get("s").await.expect_err("deleted"));
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "secrets \"s\" not found");
}

#[tokio::test]
async fn creating_twice_is_409_already_exists_and_generate_name_makes_unique_names() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    api.create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("first");
    let err = status(
        api.create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
            .await
            .expect_err("second"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(
        err.message,
        "postgresclusters.postgres-operator.crunchydata.com \"hippo\" already exists"
    );

    let mut generated = cluster_manifest("");
    generated["metadata"] = json!({ "generateName": "hippo-" });
    let a = api
        .create(&PostParams::default(), &dynamic(generated.clone()))
        .await
        .expect("a");
    let b = api
        .create(&PostParams::default(), &dynamic(generated))
        .await
        .expect("b");
    let (a, b) = (
        a.metadata.name.expect("name"),
        b.metadata.name.expect("name"),
    );
    assert!(
        a.starts_with("hippo-") && a.len() == "hippo-".len() + 5,
        "{a}"
    );
    assert_ne!(a, b);
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_404() {
    let server = server().await;
    let err = status(
        clusters(server.client(), "nowhere")
            .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
            .await
            .expect_err("no namespace"),
    );
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"nowhere\" not found");
}

#[tokio::test]
async fn replacing_with_a_stale_resource_version_is_409_conflict() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created");
    let mut first = created.clone();
    first.data["spec"]["postgresVersion"] = json!(18);
    let updated = api
        .replace("hippo", &PostParams::default(), &first)
        .await
        .expect("first replace");
    assert_eq!(
        updated.metadata.generation,
        Some(2),
        "spec change bumps generation"
    );
    let mut stale = created;
    stale.data["spec"]["port"] = json!(5433);
    let err = status(
        api.replace("hippo", &PostParams::default(), &stale)
            .await
            .expect_err("stale"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn metadata_only_changes_do_not_bump_generation_and_no_op_writes_do_not_bump_resource_version()
 {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created");
    let mut labelled = created.clone();
    labelled.metadata.labels = Some([("team".to_string(), "a".to_string())].into());
    let after = api
        .replace("hippo", &PostParams::default(), &labelled)
        .await
        .expect("labelled");
    assert_eq!(after.metadata.generation, Some(1));
    let again = api
        .replace("hippo", &PostParams::default(), &after)
        .await
        .expect("no-op");
    assert_eq!(
        again.metadata.resource_version,
        after.metadata.resource_version
    );
}

#[tokio::test]
async fn resource_versions_are_one_global_increasing_counter() {
    let server = server().await;
    let client = server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut versions = Vec::new();
    for i in 0..3 {
        let cm = cms
            .create(
                &PostParams::default(),
                &from(json!({ "metadata": { "name": format!("c{i}") } })),
            )
            .await
            .expect("cm");
        versions.push(
            cm.metadata
                .resource_version
                .expect("rv")
                .parse::<u64>()
                .expect("numeric"),
        );
        let pc = clusters(client.clone(), "default")
            .create(
                &PostParams::default(),
                &dynamic(cluster_manifest(&format!("p{i}"))),
            )
            .await
            .expect("pc");
        versions.push(
            pc.metadata
                .resource_version
                .expect("rv")
                .parse::<u64>()
                .expect("numeric"),
        );
    }
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(server.resource_version(), *versions.last().expect("some"));
}

#[tokio::test]
async fn namespaces_are_cluster_scoped_and_active_with_the_kubernetes_finalizer() {
    let server = server().await;
    let client = server.client();
    create_namespace(&client, "tenant-a").await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespaces.get("tenant-a").await.expect("namespace");
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    assert_eq!(
        ns.spec.and_then(|s| s.finalizers),
        Some(vec!["kubernetes".to_string()])
    );
    assert_eq!(
        ns.metadata
            .labels
            .and_then(|l| l.get("kubernetes.io/metadata.name").cloned())
            .as_deref(),
        Some("tenant-a")
    );
    let names: Vec<String> = namespaces
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, vec!["default".to_string(), "tenant-a".to_string()]);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_rejected_with_status_objects() {
    let server = server().await;
    let client = server.client();
    let r = raw(&client, "GET", "/apis/example.com/v1/widgets", None, None).await;
    assert_eq!(r.code, 404);
    assert_eq!(r.json()["kind"], "Status");
    let r = raw(
        &client,
        "PUT",
        "/api/v1/namespaces/default/secrets",
        Some("application/json"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.code, 405);
    assert_eq!(r.json()["reason"], "MethodNotAllowed");
    let r = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        Some("text/plain"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.code, 415);
    let _: Option<DynamicObject> = None;
}

#[tokio::test]
async fn custom_resources_need_a_resource_version_to_be_replaced_but_config_maps_do_not() {
    let server = server().await;
    let client = server.client();
    let api = clusters(client.clone(), "default");
    let mut created = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created");
    created.metadata.resource_version = None;
    let err = status(
        api.replace("hippo", &PostParams::default(), &created)
            .await
            .expect_err("unconditional update"),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains(
            "metadata.resourceVersion: Invalid value: 0: must be specified for an update"
        ),
        "{}",
        err.message
    );
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = cms
        .create(
            &PostParams::default(),
            &from(json!({ "metadata": { "name": "c" } })),
        )
        .await
        .expect("cm");
    cm.metadata.resource_version = None;
    cms.replace("c", &PostParams::default(), &cm)
        .await
        .expect("unconditional update of a ConfigMap");
}
