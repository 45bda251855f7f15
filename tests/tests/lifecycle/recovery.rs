//! Several pgplane processes (in-process workers and syncs) sharing one job queue. A worker
//! killed mid-job is in the reliability suite (`tests/reliability/worker_crash.rs`), where it
//! is a real `pgplane serve` process killed with SIGKILL.

use std::time::Duration;

use serde_json::json;

use crate::harness::World;

#[tokio::test]
async fn three_pgplane_processes_share_the_queue_without_duplicating_work() {
    if std::env::var_os("PGPLANE_TEST_LOG").is_some() {
        pgplane::telemetry::init_logging(pgplane::config::LogFormat::Text);
    }
    let mut world = World::start(&[]).await;
    world.app.start_background(World::platform(&world.kube));
    world.app.start_background(World::platform(&world.kube));
    world.tenant("acme", 50).await;
    let started = std::time::Instant::now();
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
    // Generous: this test is about how the work is shared, not how fast a loaded machine
    // gets through it (on 2 busy cores one create has waited over a minute for a claim).
    for id in &operations {
        let done = world.finished(id, Duration::from_secs(180)).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    let waited = started.elapsed();
    assert_eq!(world.postgresclusters().await.len(), 24);
    let requests = world.kube.requests();
    let pgplane_applies = |created: bool| {
        requests
            .iter()
            .filter(|r| {
                r.resource == "postgresclusters"
                    && r.subresource.is_none()
                    && r.verb == kube_test_apiserver::Verb::Patch
                    && !r.is_from_operator()
                    && r.code < 300
                    && (!created || r.code == 201)
            })
            .count()
    };
    // 24 live objects and 24 creations: one creation each, whichever process claimed it.
    assert_eq!(pgplane_applies(true), 24, "one creation per cluster");
    // Re-applies happen only on rechecks (one a second here) of operations the operator has
    // not observed yet: how many depends on how busy the machine is, but never more than one
    // per operation per recheck, however many processes work on the queue.
    let applies = pgplane_applies(false);
    let rechecks = waited.as_secs() as usize + 1;
    println!("{applies} applies for 24 clusters in {waited:?}");
    assert!(
        (24..=24 * (1 + rechecks)).contains(&applies),
        "{applies} applies for 24 clusters in {waited:?}"
    );
}
