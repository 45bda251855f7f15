//! In-place restores.

use kube_test_apiserver::operator::RESTORE_ANNOTATION;
use serde_json::{Value, json};

use super::*;

fn request(id: &str, options: &[&str]) -> Value {
    json!({
        "metadata": { "annotations": { RESTORE_ANNOTATION: id } },
        "spec": { "backups": { "pgbackrest": { "restore": {
            "enabled": true, "repoName": "repo1", "options": options,
        } } } },
    })
}

fn timeline(pod: &Pod) -> Option<i64> {
    let status = pod.metadata.annotations.as_ref()?.get("status")?;
    serde_json::from_str::<Value>(status).ok()?["timeline"].as_i64()
}

#[tokio::test]
async fn a_point_in_time_restore_stops_every_instance_and_brings_them_back() {
    let env = Env::start(fast()).await;
    let before = env.ready(ha("hippo", 2)).await;
    let sysid = before.data["status"]["patroni"]["systemIdentifier"].clone();
    let leader_timeline = timeline(&env.pods("hippo").await[0]);
    assert_eq!(leader_timeline, Some(1));

    // Steps that last until released, to look at the stopped cluster.
    let held = fast().jobs_take(std::time::Duration::from_secs(3600));
    env.operator.set_scenario("default", "hippo", held);
    let target = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string();
    let target_option = format!("--target=\"{target}\"");
    env.merge("hippo", request("r1", &["--type=time", &target_option]))
        .await;

    let stopped = env
        .until("hippo", "instances stopped", |s| {
            s["pgbackrest"]["restore"]["id"] == "r1" && pod_count(s) == 0
        })
        .await;
    let status = &stopped.data["status"];
    assert_eq!(ready_replicas(status), 0);
    assert!(status["patroni"].get("systemIdentifier").is_none());
    assert!(status["pgbackrest"].get("manualBackup").is_none());
    assert_eq!(
        condition(status, "PGBackRestoreProgressing")["status"],
        "True"
    );
    assert!(
        env.pods("hippo").await.is_empty(),
        "every instance Pod is gone"
    );
    env.operator.set_scenario("default", "hippo", fast());

    let done = env
        .until("hippo", "restore finished", |s| {
            s["pgbackrest"]["restore"]["finished"] == true
        })
        .await;
    let restore = &done.data["status"]["pgbackrest"]["restore"];
    assert_eq!(restore["succeeded"], 1, "{restore}");
    assert!(restore["startTime"].is_string() && restore["completionTime"].is_string());
    let c = condition(&done.data["status"], "PostgresDataInitialized");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("True"), Some("PGBackRestRestoreComplete"))
    );

    let back = env
        .until("hippo", "ready again", |s| ready_replicas(s) == 2)
        .await;
    let status = &back.data["status"];
    assert_eq!(
        status["patroni"]["systemIdentifier"], sysid,
        "same data, same system"
    );
    assert!(condition(status, "PGBackRestoreProgressing").is_null());
    assert_eq!(status["pgbackrest"]["restore"]["id"], "r1");
    let pods = env.pods("hippo").await;
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter().all(|p| timeline(p) == Some(2)),
        "promoted onto a new timeline: {:?}",
        pods.iter()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        env.backups("hippo").len(),
        1,
        "no new backup after a restore"
    );
}

#[tokio::test]
async fn a_target_before_the_first_backup_fails_and_the_instances_stay_down_until_a_new_restore() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    env.merge(
        "hippo",
        request(
            "r1",
            &["--type=time", "--target=\"2001-01-01 00:00:00+00\""],
        ),
    )
    .await;
    let failed = env
        .until("hippo", "restore failed", |s| {
            s["pgbackrest"]["restore"]["finished"] == true
        })
        .await;
    let status = &failed.data["status"];
    let restore = &status["pgbackrest"]["restore"];
    assert_eq!(restore["failed"], 7, "{restore}");
    assert!(restore.get("succeeded").is_none() && restore.get("completionTime").is_none());
    let c = condition(status, "PostgresDataInitialized");
    assert_eq!(
        (
            c["status"].as_str(),
            c["reason"].as_str(),
            c["message"].as_str()
        ),
        (
            Some("False"),
            Some("PGBackRestRestoreFailed"),
            Some("pgBackRest restore failed")
        )
    );
    assert_eq!(
        condition(status, "PGBackRestoreProgressing")["reason"],
        "ReadyForRestore"
    );
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let still = env.api.get("hippo").await.expect("cluster");
    assert_eq!(
        pod_count(&still.data["status"]),
        0,
        "no instance comes back by itself"
    );

    // A new request to the latest state brings the cluster back.
    env.merge("hippo", request("r2", &[])).await;
    let back = env
        .until("hippo", "ready after the second restore", |s| {
            s["pgbackrest"]["restore"]["id"] == "r2" && ready_replicas(s) == 1
        })
        .await;
    assert_eq!(back.data["status"]["pgbackrest"]["restore"]["succeeded"], 1);
}

#[tokio::test]
async fn a_target_in_the_future_fails_too() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M:%S+00")
        .to_string();
    let option = format!("--target=\"{later}\"");
    env.merge("hippo", request("r1", &["--type=time", &option]))
        .await;
    let failed = env
        .until("hippo", "restore finished", |s| {
            s["pgbackrest"]["restore"]["finished"] == true
        })
        .await;
    assert_eq!(failed.data["status"]["pgbackrest"]["restore"]["failed"], 7);
}

#[tokio::test]
async fn the_scenario_can_make_any_restore_fail() {
    let env = Env::start(fast().restores_fail()).await;
    env.ready(cluster_manifest("hippo")).await;
    env.merge("hippo", request("r1", &[])).await;
    let failed = env
        .until("hippo", "restore finished", |s| {
            s["pgbackrest"]["restore"]["finished"] == true
        })
        .await;
    assert_eq!(
        condition(&failed.data["status"], "PostgresDataInitialized")["reason"],
        "PGBackRestRestoreFailed"
    );
}

#[tokio::test]
async fn an_option_pgo_rejects_records_an_event_and_the_cluster_stays_down() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    env.merge("hippo", request("r1", &["--repo=1"])).await;
    let event = eventually(WAIT, "the event", || async {
        env.events("hippo")
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidDataSource"))
    })
    .await;
    assert_eq!(
        event.message.as_deref(),
        Some("Option '--repo' is not allowed: please use the 'repoName' field instead.")
    );
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(
        status["pgbackrest"]["restore"],
        json!({ "id": "r1", "finished": false })
    );
    assert_eq!(pod_count(&status), 0);
}

#[tokio::test]
async fn without_the_annotation_or_enabled_nothing_is_restored() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let mut not_enabled = request("r1", &[]);
    not_enabled["spec"]["backups"]["pgbackrest"]["restore"]["enabled"] = json!(false);
    env.merge("hippo", not_enabled).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert!(status["pgbackrest"].get("restore").is_none());
    assert_eq!(ready_replicas(&status), 1);
}
