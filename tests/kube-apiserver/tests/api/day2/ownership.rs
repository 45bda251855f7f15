//! Repository claims and their ownership: PGO puts a removed ownerReference back, a cluster
//! being deleted does not, a new cluster of the same name adopts a kept claim with what it
//! holds, and a stanza that cannot be created leaves the cluster without backups.

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::DeleteParams;
use serde_json::json;

use super::*;

async fn owners(env: &Env, claim: &str) -> Option<Vec<String>> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    let pvc = api.get(claim).await.ok()?;
    Some(
        pvc.metadata
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.uid)
            .collect(),
    )
}

async fn detach(env: &Env, claim: &str) {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    let detached = api
        .patch(
            claim,
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": {
                "ownerReferences": null,
                "labels": { "pgplane.io/retained": "true" },
            } })),
        )
        .await
        .expect("detached");
    assert!(detached.metadata.owner_references.is_none());
}

async fn gone(env: &Env, cluster: &str) {
    eventually(WAIT, "the cluster gone", || async {
        match env.api.get(cluster).await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
}

/// Deletes the cluster and, once PGO has seen the deletion (it holds the cluster with its
/// finalizer for the scenario's deletion delay), detaches the claim.
async fn delete_keeping_the_claim(env: &Env, cluster: &str) {
    env.api
        .delete(cluster, &DeleteParams::default())
        .await
        .expect("delete");
    tokio::time::sleep(Duration::from_millis(100)).await;
    detach(env, &format!("{cluster}-repo1")).await;
    gone(env, cluster).await;
}

#[tokio::test]
async fn a_removed_owner_reference_is_put_back_by_the_next_reconcile() {
    let env = Env::start(fast()).await;
    let cluster = env.ready(cluster_manifest("orders")).await;
    let uid = cluster.metadata.uid.clone().expect("uid");
    detach(&env, "orders-repo1").await;
    let started = tokio::time::Instant::now();
    eventually(WAIT, "the owner back", || async {
        (owners(&env, "orders-repo1").await == Some(vec![uid.clone()])).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "PGO reconciles the old owner of a changed claim at once: {:?}",
        started.elapsed()
    );

    // So a claim detached and then deleted with its cluster is collected with it.
    env.api
        .delete("orders", &DeleteParams::default())
        .await
        .expect("delete");
    gone(&env, "orders").await;
    assert_eq!(owners(&env, "orders-repo1").await, None, "collected");
}

#[tokio::test]
async fn a_claim_detached_while_the_cluster_is_deleted_survives() {
    let env = Env::start(fast().deleting_after(Duration::from_millis(600))).await;
    env.ready(cluster_manifest("orders")).await;
    delete_keeping_the_claim(&env, "orders").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(owners(&env, "orders-repo1").await, Some(vec![]));
}

#[tokio::test]
async fn a_new_cluster_of_the_same_name_adopts_the_kept_claim_and_stanza_upgrades_over_its_backups()
{
    let env = Env::start(fast().deleting_after(Duration::from_millis(600))).await;
    let first = env.ready(cluster_manifest("orders")).await;
    let old_system = first.data["status"]["patroni"]["systemIdentifier"].clone();
    let old_backups = env.backups("orders");
    assert_eq!(old_backups.len(), 1);
    delete_keeping_the_claim(&env, "orders").await;
    env.operator
        .set_default_scenario(fast().deleting_after(Duration::from_millis(10)));

    let second = env.ready(cluster_manifest("orders")).await;
    let new_uid = second.metadata.uid.clone().expect("uid");
    assert_ne!(Some(&new_uid), first.metadata.uid.as_ref());
    assert_eq!(
        owners(&env, "orders-repo1").await,
        Some(vec![new_uid]),
        "adopted by server-side apply"
    );
    let status = &env.api.get("orders").await.expect("cluster").data["status"];
    let new_system = status["patroni"]["systemIdentifier"].clone();
    assert_ne!(new_system, old_system);
    // PGO reports plain success: stanza-create failed, stanza-upgrade moved the stanza on.
    assert_eq!(status["pgbackrest"]["repos"][0]["stanzaCreated"], true);
    let warnings: Vec<String> = env
        .events("orders")
        .await
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| e.reason)
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");

    // The repository holds both systems and the dead cluster's backup.
    let info = env.info("orders");
    let systems: Vec<String> = info[0]["db"]
        .as_array()
        .expect("db")
        .iter()
        .map(|d| d["system-id"].to_string())
        .collect();
    assert_eq!(
        systems,
        vec![
            old_system.as_str().unwrap_or("").to_string(),
            new_system.as_str().unwrap_or("").to_string()
        ]
    );
    let backups = env.backups("orders");
    assert_eq!(backups.len(), 2, "{backups:?}");
    assert_eq!(
        backups[0], old_backups[0],
        "the old cluster's backup is still there"
    );
    let ids: Vec<i64> = info[0]["backup"]
        .as_array()
        .expect("backups")
        .iter()
        .map(|b| b["database"]["id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(ids, vec![1, 2], "each backup belongs to its own system");
}

#[tokio::test]
async fn a_stanza_that_cannot_be_created_leaves_the_cluster_without_backups() {
    let env = Env::start(fast().stanza_creation_fails()).await;
    env.apply(cluster_manifest("orders")).await;
    let status = env
        .until("orders", "running without a stanza", |s| {
            ready_replicas(s) == 1
                && condition(s, "PGBackRestReplicaRepoReady")["reason"] == "StanzaNotCreated"
        })
        .await
        .data["status"]
        .clone();
    let warning = eventually(WAIT, "the Warning Event", || async {
        env.events("orders")
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("UnableToCreateStanzas"))
    })
    .await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert!(
        warning.message.unwrap_or_default().contains("ERROR: [028]"),
        "pgBackRest's error"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = env
        .api
        .get("orders")
        .await
        .map(|o| o.data["status"].clone())
        .unwrap_or(status);
    assert_eq!(status["pgbackrest"]["repos"][0]["stanzaCreated"], false);
    assert!(
        status["pgbackrest"]["repos"][0]
            .get("replicaCreateBackupComplete")
            .is_none()
    );
    assert_eq!(
        condition(&status, "PGBackRestReplicaCreate")["status"],
        "False"
    );
    assert!(env.backups("orders").is_empty());
}
