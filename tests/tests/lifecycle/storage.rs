//! Storage resizes through the API on Kubernetes (issue 17, item 6): the operation ends when
//! the data volumes have grown, and a resize the StorageClass cannot carry out fails with the
//! reason and leaves the cluster as it was (its desired spec included).

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, PostParams};
use kube_test_apiserver::operator::Scenario;
use serde_json::json;

use crate::day2::ready_cluster;
use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);

async fn storage_class(world: &World, name: &str, expandable: bool) {
    let class: StorageClass = serde_json::from_value(json!({
        "metadata": { "name": name },
        "provisioner": "csi.example.com",
        "allowVolumeExpansion": expandable,
    }))
    .expect("a StorageClass");
    Api::<StorageClass>::all(world.kube.client())
        .create(&PostParams::default(), &class)
        .await
        .expect("StorageClass created");
}

/// The capacities of `orders`' data volumes.
async fn capacities(world: &World) -> Vec<String> {
    Api::<PersistentVolumeClaim>::namespaced(world.kube.client(), "pgplane-acme")
        .list(&ListParams::default().labels(
            "postgres-operator.crunchydata.com/cluster=orders,\
             postgres-operator.crunchydata.com/role=pgdata",
        ))
        .await
        .expect("claims")
        .items
        .into_iter()
        .map(|c| {
            c.status
                .and_then(|s| s.capacity?.remove("storage"))
                .map(|q| q.0)
                .unwrap_or_default()
        })
        .collect()
}

async fn resize(world: &World, size: &str) -> serde_json::Value {
    let op = world
        .app
        .admin()
        .patch(
            "/v1/tenants/acme/clusters/orders",
            json!({"storage": {"size": size}}),
        )
        .await
        .expect(202)
        .json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await
}

#[tokio::test]
async fn a_resize_ends_when_every_data_volume_has_grown() {
    let world = World::start(&[]).await;
    world
        .operator
        .set_default_scenario(Scenario::healthy().volumes_grow_in(Duration::from_millis(1500)));
    storage_class(&world, "expandable", true).await;
    world.tenant("acme", 5).await;
    let body = json!({"instances": 2, "storage": {"size": "20Gi", "class": "expandable"}});
    ready_cluster(&world, "orders", body).await;
    assert_eq!(capacities(&world).await, ["20Gi", "20Gi"]);

    let done = resize(&world, "30Gi").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        capacities(&world).await,
        ["30Gi", "30Gi"],
        "the resize ended before the volumes grew"
    );
}

#[tokio::test]
async fn a_resize_the_storage_class_cannot_carry_out_fails_and_changes_nothing() {
    let world = World::start(&[]).await;
    storage_class(&world, "fixed", false).await;
    world.tenant("acme", 5).await;
    let body = json!({"storage": {"size": "20Gi", "class": "fixed"}});
    ready_cluster(&world, "orders", body).await;
    let admin = world.app.admin();
    let before = admin
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();

    let done = resize(&world, "30Gi").await;
    assert_eq!(done["state"], "failed", "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("storage.size")
            && error.contains("StorageClass fixed does not allow volume expansion"),
        "{done}"
    );
    let after = admin
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    assert_eq!(after["spec"]["storage"]["size"], "20Gi", "{after}");
    assert_eq!(
        after["status"]["generation"], before["status"]["generation"],
        "{after}"
    );
    assert_eq!(capacities(&world).await, ["20Gi"]);

    // The cluster takes the next change as usual.
    let op = admin
        .patch(
            "/v1/tenants/acme/clusters/orders",
            json!({"parameters": {"work_mem": "8MB"}}),
        )
        .await
        .expect(202)
        .json();
    let next = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(next["state"], "succeeded", "{next}");
}
