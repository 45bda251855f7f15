//! Major upgrades through PGUpgrade.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube_test_apiserver::operator::ALLOW_UPGRADE_ANNOTATION;
use serde_json::{Value, json};

use super::*;

fn upgrades(env: &Env) -> Api<DynamicObject> {
    Api::namespaced_with(
        env.server.client(),
        "default",
        &kube_test_apiserver::pgupgrade_resource(),
    )
}

async fn create_upgrade(env: &Env, name: &str, cluster: &str, from: i64, to: i64) {
    let body = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PGUpgrade",
        "metadata": { "name": name },
        "spec": { "postgresClusterName": cluster, "fromPostgresVersion": from, "toPostgresVersion": to },
    });
    upgrades(env)
        .patch(
            name,
            &PatchParams::apply("pgplane").force(),
            &Patch::Apply(body),
        )
        .await
        .expect("PGUpgrade created");
}

/// Waits until the PGUpgrade's condition `ty` has `reason`; returns the conditions.
async fn until_reason(env: &Env, name: &str, ty: &str, reason: &str) -> Value {
    eventually(WAIT, &format!("{ty} {reason}"), || async {
        let o = upgrades(env).get(name).await.ok()?;
        let status = o.data.get("status")?.clone();
        (condition(&status, ty)["reason"] == reason).then_some(status)
    })
    .await
}

fn v16(name: &str) -> Value {
    let mut m = ha(name, 2);
    m["spec"]["postgresVersion"] = json!(16);
    m
}

#[tokio::test]
async fn a_major_upgrade_walks_pgo_checks_then_succeeds() {
    let env = Env::start(fast()).await;
    let mut m = v16("hippo");
    let before = env.ready(m.clone()).await;
    assert!(
        before.data["status"].get("postgresVersion").is_none(),
        "PGO writes it only after an upgrade"
    );
    create_upgrade(&env, "hippo-to-17", "hippo", 16, 17).await;
    let status = until_reason(&env, "hippo-to-17", "Progressing", "PGClusterNotShutdown").await;
    let c = condition(&status, "Progressing");
    assert_eq!(
        (c["status"].as_str(), c["message"].as_str()),
        (
            Some("False"),
            Some("PostgresCluster instances still running")
        )
    );

    m["spec"]["shutdown"] = json!(true);
    env.apply(m.clone()).await;
    let status = until_reason(
        &env,
        "hippo-to-17",
        "Progressing",
        "PGClusterMissingRequiredAnnotation",
    )
    .await;
    assert_eq!(
        condition(&status, "Progressing")["message"],
        "PostgresCluster hippo lacks annotation for upgrade hippo-to-17"
    );
    let stopped = env.api.get("hippo").await.expect("cluster");
    let primary = stopped.data["status"]["startupInstance"]
        .as_str()
        .expect("primary recorded")
        .to_string();
    assert!(primary.starts_with("hippo-instance1-"));

    env.merge(
        "hippo",
        json!({ "metadata": { "annotations": { ALLOW_UPGRADE_ANNOTATION: "hippo-to-17" } } }),
    )
    .await;
    let status = until_reason(&env, "hippo-to-17", "Succeeded", "PGUpgradeSucceeded").await;
    let succeeded = condition(&status, "Succeeded");
    assert_eq!(
        (succeeded["status"].as_str(), succeeded["message"].as_str()),
        (
            Some("True"),
            Some("PostgresCluster hippo is ready to complete upgrade to version 17")
        )
    );
    assert_eq!(
        condition(&status, "Progressing")["reason"],
        "PGUpgradeCompleted"
    );
    let cluster = env
        .until("hippo", "status.postgresVersion", |s| {
            s["postgresVersion"] == 17
        })
        .await;
    assert_eq!(
        cluster.data["spec"]["postgresVersion"], 16,
        "the user bumps the spec after"
    );

    m["spec"]["postgresVersion"] = json!(17);
    m["spec"]["shutdown"] = json!(false);
    env.apply(m).await;
    let after = env
        .until("hippo", "running on 17 with a new full backup", |s| {
            ready_replicas(s) == 2
                && s["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"] == true
        })
        .await;
    assert_ne!(
        after.data["status"]["patroni"]["systemIdentifier"],
        before.data["status"]["patroni"]["systemIdentifier"],
        "pg_upgrade makes a new system"
    );
    assert_eq!(env.leader("hippo").await.as_deref(), Some(primary.as_str()));
    let info = env.info("hippo");
    let dbs: Vec<(i64, &str)> = info[0]["db"]
        .as_array()
        .expect("db")
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap_or(0),
                d["version"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(dbs, vec![(1, "16"), (2, "17")], "stanza-upgrade");
    let backups = info[0]["backup"].as_array().expect("backups");
    assert_eq!(backups.len(), 2);
    assert_eq!(
        (
            backups[1]["type"].as_str(),
            backups[1]["database"]["id"].as_i64()
        ),
        (Some("full"), Some(2))
    );
}

#[tokio::test]
async fn a_failed_upgrade_leaves_the_data_on_the_old_version() {
    let env = Env::start(fast().upgrades_fail()).await;
    let mut m = v16("hippo");
    m["metadata"]["annotations"] = json!({ ALLOW_UPGRADE_ANNOTATION: "up" });
    env.ready(m.clone()).await;
    m["spec"]["shutdown"] = json!(true);
    env.apply(m.clone()).await;
    create_upgrade(&env, "up", "hippo", 16, 17).await;
    let status = until_reason(&env, "up", "Succeeded", "PGUpgradeFailed").await;
    let failed = condition(&status, "Succeeded");
    assert_eq!(
        (failed["status"].as_str(), failed["message"].as_str()),
        (
            Some("False"),
            Some("Upgrade jobs failed, please check individual pod logs")
        )
    );
    assert_eq!(condition(&status, "Progressing")["status"], "True");
    let cluster = env.api.get("hippo").await.expect("cluster");
    assert!(cluster.data["status"].get("postgresVersion").is_none());

    m["spec"]["shutdown"] = json!(false);
    env.apply(m).await;
    env.until("hippo", "running on 16 again", |s| ready_replicas(s) == 2)
        .await;
    let info = env.info("hippo");
    assert_eq!(info[0]["db"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_version_bump_without_an_upgrade_never_becomes_ready() {
    let env = Env::start(fast()).await;
    let mut m = v16("hippo");
    env.ready(m.clone()).await;
    m["spec"]["postgresVersion"] = json!(17);
    env.apply(m).await;
    let observed = env
        .until("hippo", "observed", |s| s["observedGeneration"] == 2)
        .await;
    // The new default image rolls like any template change and stops at the first Pod: 17
    // cannot start on 16's data, and PGO deletes no other Pod while one is unavailable.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(pod_count(&status), 2, "{}", observed.data["status"]);
    assert_eq!(ready_replicas(&status), 1, "17 cannot start on 16's data");
    assert_eq!(env.operator.restarts("default", "hippo").len(), 1);
    assert!(!env.rolled_out("hippo").await);

    create_upgrade(&env, "late", "hippo", 16, 17).await;
    until_reason(&env, "late", "Progressing", "PGUpgradeResolved").await;
}

#[tokio::test]
async fn an_upgrade_of_a_missing_cluster_waits_for_it() {
    let env = Env::start(fast()).await;
    create_upgrade(&env, "orphan", "nobody", 16, 17).await;
    let status = until_reason(&env, "orphan", "Progressing", "PGClusterNotFound").await;
    assert_eq!(condition(&status, "Progressing")["status"], "False");
}
