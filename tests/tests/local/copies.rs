//! Clones and standbys on the local platform, restored from the source's pgBackRest
//! repository and checked by the rows each one holds.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::harness::{LocalWorld, TENANT, connect, server_logs, small_cluster};

/// The source's owner on `name`'s primary: a clone holds its source's databases and roles
/// (with their passwords), next to its own owner and database.
async fn source_owner(world: &LocalWorld, name: &str) -> PgConnection {
    let source = world.connection("books").await;
    let info = world.connection(name).await;
    let uri = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}?sslmode=verify-full",
        source["user"].as_str().unwrap(),
        source["password"].as_str().unwrap(),
        info["primary"]["port"],
        source["database"].as_str().unwrap(),
    );
    connect(&uri, info["ca_certificate"].as_str().unwrap())
        .await
        .unwrap_or_else(|e| panic!("connects to {name}: {e}\n{}", server_logs(world)))
}

async fn execute(world: &LocalWorld, name: &str, sql: &str) {
    let mut conn = source_owner(world, name).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn rows(world: &LocalWorld, name: &str) -> Vec<String> {
    let mut conn = source_owner(world, name).await;
    let rows = sqlx::query_scalar("select v from entries order by v")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn source_with_rows(world: &LocalWorld) -> chrono::DateTime<chrono::Utc> {
    assert_eq!(
        world.create(small_cluster("books", 1)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("books", "ready").await;
    world.wait_for_initial_backup("books").await;
    execute(
        world,
        "books",
        "create table entries (v text); insert into entries values ('a-before-target')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let target = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    execute(
        world,
        "books",
        "insert into entries values ('b-after-target')",
    )
    .await;
    target
}

#[tokio::test]
async fn a_clone_to_a_point_in_time_holds_exactly_what_its_source_had_then() {
    let world = LocalWorld::start().await;
    let target = source_with_rows(&world).await;
    let mut clone = small_cluster("books-then", 1);
    clone["source"] = json!({"cluster": "books", "target_time": target.to_rfc3339()});
    let op = world.create(clone).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    world.wait_for_phase("books-then", "ready").await;
    assert_eq!(rows(&world, "books-then").await, ["a-before-target"]);
    // …and its own owner and database, with its own password.
    let mut own = world.owner("books-then", "primary").await;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(database, "books-then");
    own.close().await.unwrap();

    // The clone is a cluster of its own: it takes writes the source never sees, and backs up
    // into its own repository.
    execute(
        &world,
        "books-then",
        "insert into entries values ('c-clone-only')",
    )
    .await;
    assert_eq!(
        rows(&world, "books").await,
        ["a-before-target", "b-after-target"]
    );
    world.wait_for_initial_backup("books-then").await;
    world
        .succeeds(
            &format!("/v1/tenants/{TENANT}/clusters/books-then/backups"),
            json!({"type": "incremental"}),
        )
        .await;
    world.stop().await;
}

#[tokio::test]
async fn a_standby_follows_its_source_and_takes_writes_once_promoted() {
    let world = LocalWorld::start().await;
    source_with_rows(&world).await;
    let mut standby = small_cluster("books-dr", 1);
    standby["standby"] = json!({"source": "books"});
    let op = world.create(standby).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    world.wait_for_phase("books-dr", "ready").await;

    // Streams what the source commits from now on.
    execute(&world, "books", "insert into entries values ('c-streamed')").await;
    let started = Instant::now();
    loop {
        let mut conn = world.owner("books-dr", "primary").await;
        let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(in_recovery, "a standby is read-only");
        let seen: Vec<String> = sqlx::query_scalar("select v from entries order by v")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        if seen == ["a-before-target", "b-after-target", "c-streamed"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the standby shows {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    world
        .succeeds(
            &format!("/v1/tenants/{TENANT}/clusters/books-dr/promote"),
            json!({}),
        )
        .await;
    let promoted = world.cluster("books-dr").await;
    assert!(promoted["spec"]["standby"].is_null(), "{promoted}");
    execute(
        &world,
        "books-dr",
        "insert into entries values ('d-promoted')",
    )
    .await;
    assert_eq!(
        rows(&world, "books-dr").await,
        [
            "a-before-target",
            "b-after-target",
            "c-streamed",
            "d-promoted"
        ]
    );
    assert_eq!(
        rows(&world, "books").await,
        ["a-before-target", "b-after-target", "c-streamed"],
        "the source goes on alone"
    );
    // Its own repository from now on.
    world.wait_for_initial_backup("books-dr").await;
    world.stop().await;
}
