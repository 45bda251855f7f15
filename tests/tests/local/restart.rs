//! Restarting pgplane in the middle: its clusters are found again, the ones that should run
//! run, and their data is intact.

use serde_json::json;
use sqlx::Connection;

use super::harness::{LocalWorld, TENANT, connect, running_servers, small_cluster};

async fn write_marker(world: &LocalWorld, name: &str) {
    let info = world.connection(name).await;
    let ca = info["ca_certificate"].as_str().unwrap();
    let mut conn = connect(info["primary"]["uri"].as_str().unwrap(), ca)
        .await
        .expect("connects");
    sqlx::raw_sql("create table marker (v text); insert into marker values ('kept')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn read_marker(world: &LocalWorld, name: &str) -> String {
    let info = world.connection(name).await;
    let ca = info["ca_certificate"].as_str().unwrap();
    let mut conn = connect(info["primary"]["uri"].as_str().unwrap(), ca)
        .await
        .expect("connects after the restart");
    let value = sqlx::query_scalar("select v from marker")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    value
}

#[tokio::test]
async fn a_clean_restart_stops_the_servers_and_brings_back_the_running_clusters_only() {
    let mut world = LocalWorld::start().await;
    assert_eq!(
        world.create(small_cluster("running", 2)).await["state"],
        "succeeded"
    );
    assert_eq!(
        world.create(small_cluster("asleep", 1)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("running", "ready").await;
    // Until then a cluster whose servers are down reads as still provisioning, as on PGO.
    world.wait_for_initial_backup("running").await;
    write_marker(&world, "running").await;
    let op = world
        .app
        .admin()
        .patch(
            &format!("/v1/tenants/{TENANT}/clusters/asleep"),
            json!({"suspended": true}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");

    world.app.stop_background().await; // also stops the servers
    assert!(
        running_servers(world.root.path()).is_empty(),
        "a clean shutdown stops every server"
    );
    // …and records that, so nothing reads as ready while pgplane is away.
    let down = world.cluster("running").await;
    assert_eq!(down["status"]["phase"], "degraded", "{down}");
    assert_eq!(down["status"]["ready_instances"], 0);
    world.restart_pgplane(false).await; // nothing left to crash: starts the new driver

    let cluster = world.wait_for_phase("running", "ready").await;
    assert_eq!(cluster["status"]["ready_instances"], 2);
    assert_eq!(read_marker(&world, "running").await, "kept");
    let asleep = world.wait_for_phase("asleep", "suspended").await;
    assert_eq!(asleep["status"]["ready_instances"], 0);
    assert_eq!(
        running_servers(world.root.path()).len(),
        2,
        "only the running cluster's servers"
    );
    world.stop().await;
}

#[tokio::test]
async fn after_a_crash_of_pgplane_the_running_servers_are_adopted_and_operations_finish() {
    let mut world = LocalWorld::start().await;
    assert_eq!(
        world.create(small_cluster("steady", 1)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("steady", "ready").await;
    write_marker(&world, "steady").await;
    let before = running_servers(world.root.path());

    // pgplane dies while a scale-up is in flight; the servers keep running.
    let op = world
        .app
        .admin()
        .patch(
            &format!("/v1/tenants/{TENANT}/clusters/steady"),
            json!({"instances": 2}),
        )
        .await
        .expect(202)
        .json();
    world.restart_pgplane(false).await;

    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let cluster = world.wait_for_phase("steady", "ready").await;
    assert_eq!(cluster["status"]["ready_instances"], 2);
    assert_eq!(read_marker(&world, "steady").await, "kept");
    let after = running_servers(world.root.path());
    assert!(
        before.iter().all(|dir| after.contains(dir)),
        "the primary kept running"
    );
    assert_eq!(after.len(), 2);
    world.stop().await;
}
