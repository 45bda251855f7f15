//! High availability on the local platform, checked by writes: a switchover loses nothing and
//! the new primary takes writes, and when the primary's postmaster is killed the most
//! caught-up replica takes over by itself (the time until writes succeed again is measured).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use super::harness::{LocalWorld, TENANT, connect, server_logs, small_cluster};

async fn sql(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .unwrap();
}

async fn rows(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar("select v from entries order by v")
        .fetch_all(conn)
        .await
        .unwrap()
}

/// Waits until every instance is ready again with a primary that `primary` accepts (a minute
/// at most).
async fn wait_all_ready(
    world: &LocalWorld,
    name: &str,
    instances: u64,
    primary: impl Fn(&str) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let cluster = world.cluster(name).await;
        if cluster["status"]["phase"] == "ready"
            && cluster["status"]["ready_instances"] == instances
            && cluster["status"]["primary_instance"]
                .as_str()
                .is_some_and(&primary)
        {
            return cluster;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never ready again: {cluster}\n{}",
            server_logs(world)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a replica has replayed what the primary committed (rows equal `expected`).
async fn wait_replica_rows(world: &LocalWorld, name: &str, expected: &[&str]) {
    let started = Instant::now();
    loop {
        let mut replica = world.owner(name, "replicas").await;
        let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
            .fetch_one(&mut replica)
            .await
            .unwrap();
        let seen = rows(&mut replica).await;
        replica.close().await.unwrap();
        if in_recovery && seen == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica shows {seen:?} (in recovery: {in_recovery})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_switchover_hands_the_primary_to_a_replica_and_loses_nothing() {
    let world = LocalWorld::start().await;
    let path = format!("/v1/tenants/{TENANT}/clusters/ha");
    assert_eq!(
        world.create(small_cluster("ha", 3)).await["state"],
        "succeeded"
    );
    wait_all_ready(&world, "ha", 3, |p| p == "ha-pg0").await;
    let old_port = world.connection("ha").await["primary"]["port"].clone();
    let mut primary = world.owner("ha", "primary").await;
    sql(
        &mut primary,
        "create table entries (v text); insert into entries values ('1-before')",
    )
    .await;
    primary.close().await.unwrap();

    // To the most caught-up replica.
    world
        .succeeds(&format!("{path}/switchover"), json!({}))
        .await;
    // Whichever replica had received the most WAL.
    wait_all_ready(&world, "ha", 3, |p| p != "ha-pg0").await;
    let info = world.connection("ha").await;
    assert_ne!(
        info["primary"]["port"], old_port,
        "the endpoint follows the primary"
    );
    let mut primary = world.owner("ha", "primary").await;
    sql(
        &mut primary,
        "insert into entries values ('2-after-switchover')",
    )
    .await;
    assert_eq!(rows(&mut primary).await, ["1-before", "2-after-switchover"]);
    primary.close().await.unwrap();
    // The former primary is a replica of the new one and replays its writes.
    wait_replica_rows(&world, "ha", &["1-before", "2-after-switchover"]).await;

    // Back to a named instance: the former primary, rewound and following.
    world
        .succeeds(
            &format!("{path}/switchover"),
            json!({"target_instance": "ha-pg0"}),
        )
        .await;
    wait_all_ready(&world, "ha", 3, |p| p == "ha-pg0").await;
    let mut primary = world.owner("ha", "primary").await;
    sql(&mut primary, "insert into entries values ('3-back')").await;
    assert_eq!(
        rows(&mut primary).await,
        ["1-before", "2-after-switchover", "3-back"]
    );
    primary.close().await.unwrap();
    world.stop().await;
}

#[tokio::test]
async fn when_the_primarys_postmaster_is_killed_a_replica_takes_over_and_the_old_one_follows() {
    let world = LocalWorld::start().await;
    assert_eq!(
        world.create(small_cluster("ha", 2)).await["state"],
        "succeeded"
    );
    wait_all_ready(&world, "ha", 2, |p| p == "ha-pg0").await;
    world.wait_for_initial_backup("ha").await;
    let mut primary = world.owner("ha", "primary").await;
    sql(
        &mut primary,
        "create table entries (v text); insert into entries values ('1-before')",
    )
    .await;
    primary.close().await.unwrap();
    wait_replica_rows(&world, "ha", &["1-before"]).await;

    let id = world.cluster("ha").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pid_file = world.clusters_dir().join(&id).join("pg0/postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    let killed = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap();
    assert!(status.success());

    // Writes succeed again on whatever the connection details name as the primary.
    let took = loop {
        let info = world.connection("ha").await;
        if let Some(uri) = info["primary"]["uri"].as_str()
            && let Ok(mut conn) = connect(uri, info["ca_certificate"].as_str().unwrap()).await
        {
            let written = sqlx::raw_sql("insert into entries values ('2-after-failover')")
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
            if written.is_ok() {
                break killed.elapsed();
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no writable primary a minute after the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "failover: writes succeeded again {:.1} s after the primary's postmaster was killed",
        took.as_secs_f64()
    );
    wait_all_ready(&world, "ha", 2, |p| p == "ha-pg1").await;
    // The former primary came back as a replica (rewound) and replays the new primary's writes.
    wait_replica_rows(&world, "ha", &["1-before", "2-after-failover"]).await;
    world.stop().await;
}
