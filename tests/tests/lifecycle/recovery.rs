//! Crash recovery: a worker killed mid-job; its lease expires and another run finishes the job,
//! with exactly one PostgresCluster as the result.

use std::time::Duration;

use serde_json::json;

use crate::harness::World;

#[tokio::test]
async fn a_worker_killed_mid_job_is_taken_over_and_exactly_one_postgrescluster_results() {
    let mut world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    world.kube.faults().set_latency(Duration::from_millis(300));
    let op = world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202)
        .json();
    let id = op["id"].as_str().unwrap();
    // Kill the workers while the job is claimed and talking to Kubernetes.
    loop {
        let state = world
            .app
            .admin()
            .get(&format!("/v1/operations/{id}"))
            .await
            .expect(200)
            .json();
        if state["state"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    world.app.crash_background().await;
    world.kube.faults().reset();
    world.app.start_background(World::platform(&world.kube));
    let done = world.finished(id, Duration::from_secs(30)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(
        done["attempts"].as_i64().unwrap() >= 2,
        "the job was taken over: {done}"
    );
    assert_eq!(world.postgresclusters().await.len(), 1);
}

#[tokio::test]
async fn three_pgplane_processes_share_the_queue_without_duplicating_work() {
    let mut world = World::start(&[]).await;
    world.app.start_background(World::platform(&world.kube));
    world.app.start_background(World::platform(&world.kube));
    world.tenant("acme", 50).await;
    let mut operations = Vec::new();
    for i in 0..24 {
        let op = world
            .app
            .admin()
            .post(
                "/v1/tenants/acme/clusters",
                json!({"name": format!("c{i}")}),
            )
            .await
            .expect(202)
            .json();
        operations.push(op["id"].as_str().unwrap().to_string());
    }
    for id in &operations {
        let done = world.finished(id, Duration::from_secs(60)).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    assert_eq!(world.postgresclusters().await.len(), 24);
    let creates = world
        .kube
        .requests()
        .into_iter()
        .filter(|r| {
            r.resource == "postgresclusters"
                && r.subresource.is_none()
                && r.verb == kube_test_apiserver::Verb::Patch
                && !r.is_from_operator()
                && r.code < 300
        })
        .count();
    // Each create is applied once by whichever process claimed it (re-applies only happen on
    // rechecks of still-waiting operations, which a healthy operator makes rare).
    assert!(
        (24..24 * 3).contains(&creates),
        "{creates} applies for 24 clusters"
    );
}
