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
    execute(
        &world,
        "create table entries (v text); insert into entries values ('a-before-backup')",
    )
    .await;

    let op = admin
        .post(&format!("{path}/backups"), json!({}))
        .await
        .expect(202)
        .json();
    let op = world.finished(&op).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    let listed = admin
        .get(&format!("{path}/backups"))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
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

    let op = admin
        .post(
            &format!("{path}/restore"),
            json!({"target_time": target.to_rfc3339()}),
        )
        .await
        .expect(202)
        .json();
    let op = world.finished(&op).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    let cluster = world.wait_for_phase("books", "ready").await;
    assert_eq!(
        cluster["status"]["ready_instances"], 2,
        "replicas rebuilt: {cluster}"
    );
    assert_eq!(rows(&world).await, ["a-before-backup", "b-before-target"]);

    // The restored cluster keeps archiving and can be backed up again.
    let op = admin
        .post(&format!("{path}/backups"), json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    world.stop().await;
}

#[tokio::test]
async fn what_the_local_platform_cannot_back_up_or_restore_is_refused() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let path = format!("/v1/tenants/{TENANT}/clusters/books");
    assert_eq!(
        world.create(small_cluster("books", 2)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("books", "ready").await;
    let problem = admin
        .post(&format!("{path}/backups"), json!({"type": "incremental"}))
        .await
        .expect_problem(501, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("full backups only"),
        "{problem}"
    );
    admin
        .post(&format!("{path}/switchover"), json!({}))
        .await
        .expect_problem(501, None);
    // No backup yet: nothing to restore from.
    admin
        .post(&format!("{path}/restore"), json!({}))
        .await
        .expect_problem(409, None);
    world.stop().await;
}
