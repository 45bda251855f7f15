//! Manual backups and the pgBackRest repository they fill.

use std::time::Duration;

use kube_test_apiserver::operator::BACKUP_ANNOTATION;
use serde_json::{Value, json};

use super::*;

fn request(id: &str, options: &[&str]) -> Value {
    json!({
        "metadata": { "annotations": { BACKUP_ANNOTATION: id } },
        "spec": { "backups": { "pgbackrest": { "manual": { "repoName": "repo1", "options": options } } } },
    })
}

#[tokio::test]
async fn a_manual_backup_waits_for_the_first_full_backup_then_reports_its_job() {
    // The first backup is held until the scenario releases it.
    let env = Env::start(fast().first_backup_after(Duration::from_secs(3600))).await;
    let mut m = cluster_manifest("hippo");
    m["metadata"]["annotations"] = json!({ BACKUP_ANNOTATION: "b1" });
    m["spec"]["backups"]["pgbackrest"]["manual"] =
        json!({ "repoName": "repo1", "options": ["--type=full"] });
    env.apply(m).await;

    let waiting = env
        .until("hippo", "the request acknowledged", |s| {
            s["pgbackrest"]["manualBackup"]["id"] == "b1"
        })
        .await;
    let status = &waiting.data["status"];
    assert_eq!(
        status["pgbackrest"]["manualBackup"],
        json!({ "id": "b1", "finished": false }),
        "no Job before the replica-create backup"
    );
    assert_eq!(
        condition(status, "PGBackRestReplicaCreate")["status"],
        "False"
    );
    assert!(
        status["pgbackrest"]["repos"][0]
            .get("replicaCreateBackupComplete")
            .is_none()
    );
    assert!(env.backups("hippo").is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        env.api.get("hippo").await.expect("cluster").data["status"]["pgbackrest"]["manualBackup"]["finished"],
        false,
        "still waiting"
    );
    env.operator.set_scenario("default", "hippo", fast());

    let done = env
        .until("hippo", "the backup finished", |s| {
            s["pgbackrest"]["manualBackup"]["finished"] == true
        })
        .await;
    let status = &done.data["status"];
    let manual = &status["pgbackrest"]["manualBackup"];
    assert_eq!(
        (manual["succeeded"].as_i64(), manual.get("failed")),
        (Some(1), None)
    );
    assert!(manual["startTime"].is_string() && manual["completionTime"].is_string());
    assert_eq!(
        status["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"],
        true
    );
    let c = condition(status, "PGBackRestManualBackupSuccessful");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("True"), Some("ManualBackupComplete"))
    );

    let backups = env.backups("hippo");
    assert_eq!(
        backups.len(),
        2,
        "the replica-create backup, then ours: {backups:?}"
    );
    assert!(backups.iter().all(|(t, l)| t == "full" && l.ends_with('F')));
}

#[tokio::test]
async fn each_new_annotation_value_runs_one_more_backup_of_the_requested_type() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    for (id, options) in [
        ("b1", vec!["--type=diff"]),
        ("b2", vec!["--type=incr"]),
        ("b3", vec![]),
    ] {
        env.merge("hippo", request(id, &options)).await;
        let done = env
            .until("hippo", id, |s| {
                s["pgbackrest"]["manualBackup"]["id"] == id
                    && s["pgbackrest"]["manualBackup"]["finished"] == true
            })
            .await;
        assert_eq!(
            done.data["status"]["pgbackrest"]["manualBackup"]["succeeded"],
            1
        );
    }
    // The same value again is not a new request.
    env.merge("hippo", request("b3", &["--type=full"])).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let info = env.info("hippo");
    let backups = info[0]["backup"].as_array().expect("backups").clone();
    let types: Vec<&str> = backups
        .iter()
        .map(|b| b["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        vec!["full", "diff", "incr", "incr"],
        "pgBackRest's default is incr"
    );
    let full = backups[0]["label"].as_str().expect("label");
    assert_eq!(backups[1]["prior"], full);
    assert_eq!(backups[1]["reference"], json!([full]));
    assert_eq!(backups[2]["prior"], backups[1]["label"]);
    assert_eq!(backups[3]["reference"].as_array().map(Vec::len), Some(3));
    for b in &backups {
        assert_eq!(b["database"], json!({ "id": 1, "repo-key": 1 }));
        assert_eq!(b["error"], false);
        assert!(b["timestamp"]["stop"].as_i64() >= b["timestamp"]["start"].as_i64());
        assert!(
            b["archive"]["start"]
                .as_str()
                .is_some_and(|w| w.len() == 24)
        );
    }
    let starts: Vec<i64> = backups
        .iter()
        .map(|b| b["timestamp"]["start"].as_i64().unwrap_or(0))
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "labels are unique: {starts:?}"
    );
    assert_eq!(info[0]["name"], "db");
    assert_eq!(
        info[0]["status"],
        json!({ "code": 0, "lock": { "backup": { "held": false } }, "message": "ok" })
    );
    assert_eq!(info[0]["archive"][0]["id"], "17-1");
    assert!(info[0]["archive"][0]["max"].as_str() >= backups[3]["archive"]["stop"].as_str());
    assert_eq!(info[0]["db"][0]["version"], "17");
}

#[tokio::test]
async fn a_failing_manual_backup_counts_failed_pods_and_reports_a_false_condition() {
    let env = Env::start(
        fast()
            .manual_backups_fail()
            .jobs_take(Duration::from_millis(10)),
    )
    .await;
    env.ready(cluster_manifest("hippo")).await;
    env.merge("hippo", request("b1", &["--type=full"])).await;
    let running = env
        .until("hippo", "the Job retrying", |s| {
            s["pgbackrest"]["manualBackup"]["failed"].as_i64() >= Some(1)
        })
        .await;
    let manual = &running.data["status"]["pgbackrest"]["manualBackup"];
    if manual["failed"].as_i64() < Some(7) {
        assert_eq!(manual["finished"], false, "retrying: {manual}");
        assert_eq!(manual["active"], 1);
    }
    let failed = env
        .until("hippo", "the backup failed", |s| {
            s["pgbackrest"]["manualBackup"]["finished"] == true
        })
        .await;
    let status = &failed.data["status"];
    let manual = &status["pgbackrest"]["manualBackup"];
    assert_eq!(manual["failed"], 7, "backoff limit 6: {manual}");
    assert!(manual.get("completionTime").is_none() && manual.get("succeeded").is_none());
    let c = condition(status, "PGBackRestManualBackupSuccessful");
    assert_eq!(
        (
            c["status"].as_str(),
            c["reason"].as_str(),
            c["message"].as_str()
        ),
        (
            Some("False"),
            Some("ManualBackupFailed"),
            Some("Manual backup did not complete successfully")
        )
    );
    assert_eq!(
        env.backups("hippo").len(),
        1,
        "a failed backup leaves no entry"
    );

    // A new request after a failure runs again (and fails again here).
    env.merge("hippo", request("b2", &["--type=full"])).await;
    let again = env
        .until("hippo", "the second request", |s| {
            s["pgbackrest"]["manualBackup"]["id"] == "b2"
        })
        .await;
    assert_ne!(
        condition(&again.data["status"], "PGBackRestManualBackupSuccessful")["reason"],
        "ManualBackupComplete"
    );
}

#[tokio::test]
async fn a_manual_backup_into_an_unknown_repo_records_a_warning_event() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    env.merge(
        "hippo",
        json!({
            "metadata": { "annotations": { BACKUP_ANNOTATION: "b1" } },
            "spec": { "backups": { "pgbackrest": { "manual": { "repoName": "repo2" } } } },
        }),
    )
    .await;
    let event = eventually(WAIT, "the event", || async {
        env.events("hippo")
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidBackupRepo"))
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.message.as_deref(),
        Some(
            "Unable to find status for \"repo2\" as configured for a manual backup.  Please ensure this repo is defined in the spec."
        )
    );
    assert_eq!(
        event.involved_object.kind.as_deref(),
        Some("PostgresCluster")
    );
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(
        status["pgbackrest"]["manualBackup"],
        json!({ "id": "b1", "finished": false })
    );
}

#[tokio::test]
async fn backup_info_reports_a_stanza_without_backups_and_unknown_clusters() {
    let env = Env::start(fast().first_backup_after(Duration::from_secs(60))).await;
    assert!(env.operator.backup_info("default", "hippo").is_none());
    env.apply(cluster_manifest("hippo")).await;
    env.until("hippo", "stanza created", |s| {
        condition(s, "PGBackRestReplicaRepoReady")["status"] == "True"
    })
    .await;
    let info = env.info("hippo");
    assert_eq!(info[0]["status"]["code"], 2);
    assert_eq!(info[0]["status"]["message"], "no valid backups");
    assert_eq!(info[0]["repo"][0]["status"]["code"], 2);
    let sysid =
        env.api.get("hippo").await.expect("cluster").data["status"]["patroni"]["systemIdentifier"]
            .as_str()
            .expect("system identifier")
            .to_string();
    assert_eq!(info[0]["db"][0]["system-id"].to_string(), sysid);
}
