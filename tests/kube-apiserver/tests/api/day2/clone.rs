//! Clones: `spec.dataSource.postgresCluster` bootstraps a new cluster from another cluster's
//! repository, with PGO's early-return status until the data is restored.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

fn clone_of(name: &str, source: &str, options: &[&str]) -> Value {
    let mut m = cluster_manifest(name);
    m["spec"]["dataSource"] = json!({ "postgresCluster": {
        "clusterName": source, "repoName": "repo1", "options": options,
    } });
    m
}

fn pg_time(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("--target=\"{}\"", at.format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

fn timeline(pod: &Pod) -> Option<i64> {
    let status = pod.metadata.annotations.as_ref()?.get("status")?;
    serde_json::from_str::<Value>(status).ok()?["timeline"].as_i64()
}

#[tokio::test]
async fn a_clone_restores_the_source_then_creates_its_own_stanza_and_backup() {
    let env = Env::start(fast()).await;
    let source = env.ready(cluster_manifest("orders")).await;
    let system = source.data["status"]["patroni"]["systemIdentifier"].clone();
    let source_timeline = timeline(&env.pods("orders").await[0]).expect("timeline");

    // A restore Job that lasts until released, to look at the clone before its data is there.
    let held = fast().jobs_take(Duration::from_secs(3600));
    env.operator.set_scenario("default", "copy", held);
    env.apply(clone_of("copy", "orders", &[])).await;
    // While the data is not there, PGO returns early: no generation, no instances.
    let early = env
        .until("copy", "restoring", |s| {
            s["pgbackrest"]["restore"]["id"] == "~pgo-bootstrap-copy"
        })
        .await
        .data["status"]
        .clone();
    assert!(early.get("observedGeneration").is_none(), "{early}");
    let c = condition(&early, "PGBackRestoreProgressing");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("True"), Some("ReadyForRestore"))
    );
    assert!(early["startupInstance"].is_string());
    assert_eq!(early["startupInstanceSet"], "instance1");
    assert!(env.pods("copy").await.is_empty());
    assert!(env.statefulsets("copy").await.is_empty());
    env.operator.set_scenario("default", "copy", fast());

    let done = env
        .until("copy", "restored, running, backed up", |s| {
            ready_replicas(s) == 1
                && s["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"] == true
        })
        .await
        .data["status"]
        .clone();
    assert_eq!(done["observedGeneration"], 1);
    let c = condition(&done, "PostgresDataInitialized");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("True"), Some("PGBackRestRestoreComplete"))
    );
    assert!(condition(&done, "PGBackRestoreProgressing").is_null());
    let restore = &done["pgbackrest"]["restore"];
    assert_eq!(
        (restore["finished"].as_bool(), restore["succeeded"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(
        done["patroni"]["systemIdentifier"], system,
        "the source's data"
    );
    assert_eq!(
        timeline(&env.pods("copy").await[0]),
        Some(source_timeline + 1),
        "promoted onto a new timeline"
    );

    // Its own repository: one stanza of the same system, its own first backup.
    let info = env.info("copy");
    assert_eq!(info[0]["db"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        info[0]["db"][0]["system-id"].to_string(),
        system.as_str().unwrap_or("")
    );
    assert_eq!(env.backups("copy").len(), 1);
    assert_eq!(
        env.backups("orders").len(),
        1,
        "the source's repository untouched"
    );
}

#[tokio::test]
async fn a_clone_of_a_source_without_a_backup_yet_fails_attempts_until_one_exists() {
    let env = Env::start(fast().jobs_take(Duration::from_millis(100))).await;
    let held = fast().first_backup_after(Duration::from_secs(3600));
    env.operator.set_scenario("default", "orders", held);
    env.apply(cluster_manifest("orders")).await;
    env.until("orders", "running", |s| ready_replicas(s) == 1)
        .await;
    env.apply(clone_of("copy", "orders", &[])).await;
    let failing = env
        .until("copy", "a failed attempt", |s| {
            s["pgbackrest"]["restore"]["failed"].as_i64() >= Some(1)
        })
        .await;
    assert!(failing.data["status"].get("observedGeneration").is_none());
    // The source's first backup arrives while the Job still retries.
    env.operator.set_scenario("default", "orders", fast());
    let done = env
        .until("copy", "restored", |s| {
            s["pgbackrest"]["restore"]["succeeded"] == 1
        })
        .await
        .data["status"]
        .clone();
    let failed = done["pgbackrest"]["restore"]["failed"]
        .as_i64()
        .unwrap_or(0);
    assert!((1..=6).contains(&failed), "{done}");
    env.until("copy", "running", |s| ready_replicas(s) == 1)
        .await;
}

#[tokio::test]
async fn a_clone_target_before_the_first_backup_fails_and_never_initializes() {
    let env = Env::start(fast().jobs_take(Duration::from_millis(10))).await;
    let before = chrono::Utc::now() - chrono::Duration::hours(1);
    env.ready(cluster_manifest("orders")).await;
    let target = pg_time(before);
    env.apply(clone_of("copy", "orders", &["--type=time", &target]))
        .await;
    let failed = env
        .until("copy", "restore failed", |s| {
            s["pgbackrest"]["restore"]["finished"] == true
        })
        .await
        .data["status"]
        .clone();
    assert_eq!(failed["pgbackrest"]["restore"]["failed"], 7, "{failed}");
    let c = condition(&failed, "PostgresDataInitialized");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("False"), Some("PGBackRestRestoreFailed"))
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = env.api.get("copy").await.expect("clone").data["status"].clone();
    assert!(status.get("observedGeneration").is_none(), "{status}");
    assert!(env.pods("copy").await.is_empty());
}

#[tokio::test]
async fn a_clone_of_a_missing_cluster_records_an_invalid_data_source() {
    let env = Env::start(fast()).await;
    env.apply(clone_of("copy", "nobody", &[])).await;
    let event = eventually(WAIT, "InvalidDataSource", || async {
        env.events("copy")
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidDataSource"))
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.message.as_deref(),
        Some("PostgresCluster \"nobody\" does not exist")
    );
    let status = env.api.get("copy").await.expect("clone").data["status"].clone();
    assert!(status.get("observedGeneration").is_none(), "{status}");
    assert!(env.pods("copy").await.is_empty());
}
