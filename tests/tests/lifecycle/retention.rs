//! `deletion_policy` on Kubernetes: `keep_backups` detaches PGO's repository volume claim from
//! the cluster before deleting it (so the garbage collector leaves it) and marks how long it
//! stays; the sync leader deletes it when that time is up. `delete_backups` lets it go with the
//! cluster.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::Api;
use pgplane::platform::kubernetes::KubernetesOptions;
use serde_json::{Value, json};

use crate::day2::ready_cluster;
use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Creates a cluster in `tenant` and waits for its create to succeed.
async fn ready_cluster_in(world: &World, tenant: &str, body: Value) {
    let path = format!("/v1/tenants/{tenant}/clusters");
    let op = world.app.admin().post(&path, body).await.expect(202).json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
}

/// Deletes a cluster of `tenant` and waits for it to be gone.
async fn delete_in(world: &World, tenant: &str, cluster: &str) -> Value {
    let path = format!("/v1/tenants/{tenant}/clusters/{cluster}");
    let op = world.app.admin().delete(&path).await.expect(202).json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    op
}

async fn delete(world: &World, cluster: &str) -> Value {
    delete_in(world, "acme", cluster).await
}

async fn claim(world: &World, name: &str) -> Option<PersistentVolumeClaim> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(world.kube.client(), "pgplane-acme");
    api.get_opt(name).await.expect("get claim")
}

#[tokio::test]
async fn keep_backups_detaches_the_repository_claim_and_marks_its_retention() {
    let world = World::start(&["--deleted-backups-retention-days", "7"]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"deletion_policy": "keep_backups"})).await;
    ready_cluster(
        &world,
        "scratch",
        json!({"deletion_policy": "delete_backups"}),
    )
    .await;
    let owned = claim(&world, "orders-repo1")
        .await
        .expect("PGO's repository claim");
    assert!(
        owned
            .metadata
            .owner_references
            .is_some_and(|o| !o.is_empty())
    );

    let op = delete(&world, "orders").await;
    assert!(
        op["waiting_for"]
            .as_str()
            .unwrap_or_default()
            .contains("kept for 7 days"),
        "{op}"
    );
    assert!(
        world
            .postgresclusters()
            .await
            .iter()
            .all(|c| c.metadata.name.as_deref() != Some("orders"))
    );
    let kept = claim(&world, "orders-repo1")
        .await
        .expect("the claim outlives its cluster");
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
    let labels = kept.metadata.labels.unwrap_or_default();
    assert_eq!(labels["pgplane.io/retained-backups"], "true");
    let annotations = kept.metadata.annotations.unwrap_or_default();
    let until: DateTime<Utc> = annotations["pgplane.io/retain-until"].parse().unwrap();
    let days = (until - Utc::now()).num_hours() as f64 / 24.0;
    assert!((6.9..=7.0).contains(&days), "kept for {days} days");

    // Not due yet: the sweep keeps it.
    let platform = World::platform(&world.kube);
    assert_eq!(platform.expire_retained_backups().await.unwrap(), 0);
    assert!(claim(&world, "orders-repo1").await.is_some());

    // delete_backups: the claim goes with its cluster.
    delete(&world, "scratch").await;
    let started = std::time::Instant::now();
    while claim(&world, "scratch-repo1").await.is_some() {
        assert!(
            started.elapsed() < TIMEOUT,
            "the garbage collector removes it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kept_backups_are_deleted_when_their_retention_is_over() {
    let options = KubernetesOptions {
        deleted_backups_retention: Duration::ZERO,
        ..crate::harness::options()
    };
    let world = World::start_with(&["--deleted-backups-retention-days", "0"], options).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    delete(&world, "orders").await;
    // The status sync leader sweeps when it starts leading and then every few minutes; the
    // sweep it runs is the platform's, called here directly.
    let platform = World::platform(&world.kube);
    let started = std::time::Instant::now();
    while claim(&world, "orders-repo1").await.is_some() {
        let _ = platform.expire_retained_backups().await.expect("sweep");
        assert!(started.elapsed() < TIMEOUT);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_name_is_reserved_while_a_deleted_clusters_backups_are_kept() {
    let world = World::start(&["--deleted-backups-retention-days", "7"]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"deletion_policy": "keep_backups"})).await;
    let old_id = world
        .app
        .admin()
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json()["id"]
        .clone();
    delete(&world, "orders").await;

    let problem = world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect_problem(409, None);
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("reserved by the backups kept") && detail.contains("`orders`"),
        "{problem}"
    );
    assert_eq!(
        problem["context"]["retained_backups"][0]["cluster_id"], old_id,
        "{problem}"
    );
    assert!(
        problem["context"]["name_free_after"].is_string(),
        "{problem}"
    );
    // The kept repository is untouched, and still the dead cluster's.
    let kept = claim(&world, "orders-repo1").await.expect("kept");
    assert_eq!(
        kept.metadata.labels.unwrap_or_default()["pgplane.io/cluster-id"],
        old_id.as_str().unwrap()
    );
    // Other names are free, and so is the name in another tenant.
    world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders-v2"}))
        .await
        .expect(202);
}

#[tokio::test]
async fn a_tenant_keeping_backups_cannot_be_deleted_and_a_recreated_tenant_gets_clusters() {
    let world = World::start(&["--deleted-backups-retention-days", "7"]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"deletion_policy": "keep_backups"})).await;
    delete(&world, "orders").await;
    let problem = world
        .app
        .admin()
        .delete("/v1/tenants/acme")
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"].as_str().is_some_and(|d| d
            .contains("keeps the backups of deleted clusters")
            && d.contains("`orders`")),
        "{problem}"
    );
    assert!(claim(&world, "orders-repo1").await.is_some());

    // A tenant without kept backups goes; a new tenant of the same name takes its namespace.
    let app = json!({"name": "app", "deletion_policy": "delete_backups"});
    world.tenant("beta", 5).await;
    ready_cluster_in(&world, "beta", app.clone()).await;
    delete_in(&world, "beta", "app").await;
    world
        .app
        .admin()
        .delete("/v1/tenants/beta")
        .await
        .expect(204);
    world.tenant("beta", 5).await;
    ready_cluster_in(&world, "beta", app).await;
}
