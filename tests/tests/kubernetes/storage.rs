//! Storage resizes on Kubernetes (issue 17, item 6): a larger `storage.size` is done only once
//! every instance's data volume has grown, and is refused before anything is applied when
//! the volumes' StorageClass cannot expand (PGO would carry on with a cluster asking for more
//! than its volumes will ever have).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube_test_apiserver::operator::Scenario;
use pgplane::platform::{ClusterTarget, Platform, PlatformError};
use serde_json::json;

use crate::support::*;

const NS: &str = "pgplane-acme";

/// A two-instance cluster on StorageClass `class`, created and settled.
async fn settled_cluster(env: &Env, class: &str) -> ClusterTarget {
    let mut s = spec("orders");
    s.instances = 2;
    s.storage.size = "20Gi".into();
    s.storage.class = Some(class.into());
    let v1 = target(&tenant("acme"), s);
    env.platform.apply_cluster(&v1).await.expect("applied");
    until_done(env, &v1).await;
    v1
}

async fn until_done(env: &Env, target: &ClusterTarget) {
    eventually(WAIT, "the change to be done", || async {
        env.platform
            .rollout_pending(target)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}

/// The data volume claims of `orders`: (name, requested, capacity).
async fn data_volumes(env: &Env) -> Vec<(String, String, String)> {
    let claims = Api::<PersistentVolumeClaim>::namespaced(env.server.client(), NS)
        .list(&ListParams::default().labels(
            "postgres-operator.crunchydata.com/cluster=orders,\
             postgres-operator.crunchydata.com/role=pgdata",
        ))
        .await
        .expect("claims");
    claims
        .items
        .into_iter()
        .map(|c| {
            let requested = c
                .spec
                .and_then(|s| s.resources?.requests?.remove("storage"));
            let capacity = c.status.and_then(|s| s.capacity?.remove("storage"));
            (
                c.metadata.name.unwrap_or_default(),
                requested.map(|q| q.0).unwrap_or_default(),
                capacity.map(|q| q.0).unwrap_or_default(),
            )
        })
        .collect()
}

fn grown_to(target: &ClusterTarget, size: &str) -> ClusterTarget {
    let mut next = target.clone();
    next.generation += 1;
    next.spec.storage.size = size.into();
    next
}

#[tokio::test]
async fn a_storage_resize_is_done_only_once_every_data_volume_has_grown() {
    let env = Env::with_scenario(Scenario::healthy().volumes_grow_in(Duration::from_secs(2))).await;
    env.storage_class("expandable", true).await;
    let v1 = settled_cluster(&env, "expandable").await;
    let before = data_volumes(&env).await;
    assert_eq!(before.len(), 2, "one data volume per instance: {before:?}");
    assert!(
        before.iter().all(|(_, r, c)| r == "20Gi" && c == "20Gi"),
        "{before:?}"
    );

    let v2 = grown_to(&v1, "30Gi");
    env.platform.apply_cluster(&v2).await.expect("applied");
    // The operator asked for more; the storage side has not delivered it yet.
    let waiting = eventually(WAIT, "the claims to ask for 30Gi", || async {
        let volumes = data_volumes(&env).await;
        volumes
            .iter()
            .all(|(_, r, _)| r == "30Gi")
            .then_some(volumes)
    })
    .await;
    assert!(waiting.iter().all(|(_, _, c)| c == "20Gi"), "{waiting:?}");
    let pending = env.platform.rollout_pending(&v2).await.expect("read");
    assert!(
        pending
            .as_deref()
            .is_some_and(|p| p.contains("data volumes to grow to 30Gi")),
        "the resize must not be done before the volumes grew: {pending:?}"
    );

    until_done(&env, &v2).await;
    let after = data_volumes(&env).await;
    assert!(after.iter().all(|(_, _, c)| c == "30Gi"), "{after:?}");
}

#[tokio::test]
async fn a_storage_resize_is_refused_before_anything_is_applied_when_the_class_cannot_expand() {
    let env = Env::start().await;
    env.storage_class("fixed", false).await;
    let v1 = settled_cluster(&env, "fixed").await;

    let refused = env.platform.apply_cluster(&grown_to(&v1, "30Gi")).await;
    let Err(PlatformError::Rejected(reason)) = &refused else {
        panic!("a resize the volumes cannot follow must be refused: {refused:?}");
    };
    assert!(
        reason.starts_with("storage.size:")
            && reason.contains("StorageClass fixed does not allow volume expansion")
            && reason.contains("current size 20Gi"),
        "{reason}"
    );
    let cluster = env.clusters(NS).get("orders").await.expect("cluster");
    assert_eq!(
        cluster.data["spec"]["instances"][0]["dataVolumeClaimSpec"]["resources"]["requests"]["storage"],
        "20Gi",
        "the PostgresCluster keeps the size its volumes have"
    );
    // Shrinking or keeping the size needs no expansion.
    env.platform
        .apply_cluster(&grown_to(&v1, "20Gi"))
        .await
        .expect("the same size applies");
}

/// Past pgplane's check (a class changed underneath, or a hand edit), PGO's claim apply is
/// refused by the apiserver: PGO records a Warning Event and the resize never completes.
#[tokio::test]
async fn a_growth_the_apiserver_refuses_leaves_the_resize_pending_with_the_operators_warning() {
    let env = Env::start().await;
    env.storage_class("fixed", false).await;
    let v1 = settled_cluster(&env, "fixed").await;
    let current = env.clusters(NS).get("orders").await.expect("cluster");
    let mut instances = current.data["spec"]["instances"].clone();
    instances[0]["dataVolumeClaimSpec"]["resources"]["requests"]["storage"] = json!("30Gi");
    env.clusters(NS)
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "instances": instances } })),
        )
        .await
        .expect("edited by hand");

    let warning = eventually(WAIT, "PGO's PersistentVolumeError Event", || async {
        Api::<Event>::namespaced(env.server.client(), NS)
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("PersistentVolumeError"))
    })
    .await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    let message = warning.message.unwrap_or_default();
    assert!(
        message.contains("only dynamically provisioned pvc can be resized"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending = env
        .platform
        .rollout_pending(&grown_to(&v1, "30Gi"))
        .await
        .expect("read");
    assert!(
        pending
            .as_deref()
            .is_some_and(|p| p.contains("orders-") && p.contains("at 20Gi")),
        "{pending:?}"
    );
}
