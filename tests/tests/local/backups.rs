//! Backups and point-in-time restore on the local platform, checked by the data itself.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use super::harness::{LocalWorld, TENANT, connect, small_cluster};

async fn execute(world: &LocalWorld, sql: &str) {
    let info = world.connection("books").await;
    let mut conn = connect(
        info["primary"]["uri"].as_str().unwrap(),
        info["ca_certificate"].as_str().unwrap(),
    )
    .await
    .expect("connects");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn rows(world: &LocalWorld) -> Vec<String> {
    let info = world.connection("books").await;
    let mut conn = connect(
        info["primary"]["uri"].as_str().unwrap(),
        info["ca_certificate"].as_str().unwrap(),
    )
    .await
    .expect("connects");
    let rows = sqlx::query_scalar("select v from entries order by v")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

fn repository_types(listed: &serde_json::Value) -> Vec<String> {
    listed["repository"]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_backup_type_lands_in_pgbackrests_repository_with_the_specs_schedules_and_retention()
{
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let path = format!("/v1/tenants/{TENANT}/clusters/books");
    assert_eq!(
        world.create(small_cluster("books", 1)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("books", "ready").await;
    // Issue 20: PGO's initial full backup, into the cluster's own pgBackRest repository.
    let listed = world.wait_for_initial_backup("books").await;
    assert_eq!(listed["window_source"], "repository", "{listed}");
    assert_eq!(repository_types(&listed), ["full"], "{listed}");
    execute(
        &world,
        "create table entries (v text); insert into entries values ('a')",
    )
    .await;

    for kind in ["differential", "incremental"] {
        world
            .succeeds(&format!("{path}/backups"), json!({"type": kind}))
            .await;
    }
    let listed = admin
        .get(&format!("{path}/backups"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        repository_types(&listed),
        ["full", "differential", "incremental"],
        "pgbackrest info is the list: {listed}"
    );
    let recorded: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert!(
        recorded.contains(&"differential") && recorded.contains(&"incremental"),
        "{listed}"
    );
    let incremental = &listed["repository"]["backups"][2];
    assert_eq!(
        incremental["prior"], listed["repository"]["backups"][1]["label"],
        "{listed}"
    );

    // Retention comes from the spec: with one full backup kept, a new full one expires the
    // older one and what depended on it.
    let op = admin
        .patch(&path, json!({"backups": {"retention_full": 1}}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    world
        .succeeds(&format!("{path}/backups"), json!({"type": "full"}))
        .await;
    let listed = admin
        .get(&format!("{path}/backups"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        repository_types(&listed),
        ["full"],
        "pgBackRest expired the older full backup and what depended on it: {listed}"
    );

    // So do the schedules: an hourly incremental that fires within the next two minutes (at
    // least 30 s from now, so that it is set before it fires).
    let now = chrono::Utc::now();
    let fires = now + chrono::Duration::seconds(if now.timestamp() % 60 > 30 { 90 } else { 60 });
    let minute = fires.format("%M").to_string().parse::<u32>().unwrap();
    let op = admin
        .patch(
            &path,
            json!({"backups": {"schedules": {
                "full": "0 1 * * 0", "differential": null, "incremental": format!("{minute} * * * *")}}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let started = std::time::Instant::now();
    let scheduled = loop {
        let listed = admin
            .get(&format!("{path}/backups"))
            .await
            .expect(200)
            .json();
        let scheduled = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["origin"] == "scheduled" && b["state"] == "succeeded")
            .cloned();
        if let Some(scheduled) = scheduled {
            break (scheduled, listed);
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the schedule never fired: {listed}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(scheduled.0["type"], "incremental", "{}", scheduled.1);
    assert_eq!(
        repository_types(&scheduled.1),
        ["full", "incremental"],
        "{}",
        scheduled.1
    );
    world.stop().await;
}

#[tokio::test]
async fn a_point_in_time_restore_brings_back_exactly_what_was_committed_before_the_target() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let path = format!("/v1/tenants/{TENANT}/clusters/books");
    assert_eq!(
        world.create(small_cluster("books", 2)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("books", "ready").await;
    world.wait_for_initial_backup("books").await;
    execute(
        &world,
        "create table entries (v text); insert into entries values ('a-before-backup')",
    )
    .await;

    world.succeeds(&format!("{path}/backups"), json!({})).await;
    let listed = admin
        .get(&format!("{path}/backups"))
        .await
        .expect(200)
        .json();
    // The initial backup and this one.
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed["items"][0]["state"], "succeeded");
    assert!(
        listed["recoverable_window"]["earliest"].is_string(),
        "{listed}"
    );

    execute(&world, "insert into entries values ('b-before-target')").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let target = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    execute(&world, "insert into entries values ('c-after-target')").await;

    world
        .succeeds(
            &format!("{path}/restore"),
            json!({"target_time": target.to_rfc3339()}),
        )
        .await;
    let cluster = world.wait_for_phase("books", "ready").await;
    assert_eq!(
        cluster["status"]["ready_instances"], 2,
        "replicas rebuilt: {cluster}"
    );
    assert_eq!(rows(&world).await, ["a-before-backup", "b-before-target"]);

    // The restored cluster keeps archiving and can be backed up again.
    world.succeeds(&format!("{path}/backups"), json!({})).await;
    world.stop().await;
}
