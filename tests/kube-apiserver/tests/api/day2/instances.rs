//! Instances as PGO's Pods.

use kube_test_apiserver::operator::{ROLE_LEADER, ROLE_REPLICA};
use serde_json::json;

use super::*;

#[tokio::test]
async fn instances_are_pods_named_after_their_statefulsets() {
    let env = Env::start(fast()).await;
    let ready = env.ready(ha("hippo", 3)).await;
    let pods = env.pods("hippo").await;
    assert_eq!(pods.len(), 3);
    let names = regex_like(&pods);
    assert!(
        names
            .iter()
            .all(|(pod, instance)| *pod == format!("{instance}-0"))
    );
    assert!(
        names.iter().all(|(_, instance)| {
            let suffix = instance.strip_prefix("hippo-instance1-").unwrap_or("");
            suffix.len() == 4
                && suffix
                    .chars()
                    .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        }),
        "{names:?}"
    );
    let roles: Vec<&str> = pods.iter().filter_map(|p| label(p, ROLE)).collect();
    assert_eq!(roles.iter().filter(|r| **r == ROLE_LEADER).count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == ROLE_REPLICA).count(), 2);
    let leader = env.leader("hippo").await.expect("leader");
    assert_eq!(ready.data["status"]["startupInstance"], leader.as_str());
    assert_eq!(ready.data["status"]["startupInstanceSet"], "instance1");
    for p in &pods {
        assert_eq!(
            label(p, "postgres-operator.crunchydata.com/data"),
            Some("postgres")
        );
        assert_eq!(
            label(p, "postgres-operator.crunchydata.com/instance-set"),
            Some("instance1")
        );
        let owner = &p.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("StatefulSet", label(p, INSTANCE).unwrap_or(""))
        );
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone());
        assert_eq!(ready.as_deref(), Some("True"));
    }

    // Scaling down keeps the leader; the names of the others are stable.
    let mut m = ha("hippo", 1);
    m["spec"]["instances"][0]["replicas"] = json!(1);
    env.apply(m).await;
    env.until("hippo", "scaled down", |s| pod_count(s) == 1)
        .await;
    let left = eventually(WAIT, "one pod", || async {
        let p = env.pods("hippo").await;
        (p.len() == 1).then_some(p)
    })
    .await;
    assert_eq!(label(&left[0], INSTANCE), Some(leader.as_str()));
    env.apply(ha("hippo", 3)).await;
    env.until("hippo", "scaled up", |s| ready_replicas(s) == 3)
        .await;
    let again: Vec<String> = env
        .pods("hippo")
        .await
        .iter()
        .filter_map(|p| label(p, INSTANCE).map(String::from))
        .collect();
    assert!(again.contains(&leader));
}

fn regex_like(pods: &[Pod]) -> Vec<(String, String)> {
    pods.iter()
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                label(p, INSTANCE).unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn shutdown_removes_the_pods_and_records_the_primary_to_start_first() {
    let env = Env::start(fast()).await;
    let mut m = ha("hippo", 2);
    env.ready(m.clone()).await;
    let leader = env.leader("hippo").await.expect("leader");
    m["spec"]["shutdown"] = json!(true);
    env.apply(m).await;
    let down = env
        .until("hippo", "shut down", |s| {
            s["observedGeneration"] == 2 && pod_count(s) == 0
        })
        .await;
    assert_eq!(down.data["status"]["startupInstance"], leader.as_str());
    assert!(env.pods("hippo").await.is_empty());
    assert_eq!(
        condition(&down.data["status"], "PGBackRestRepoHostReady")["status"],
        "False"
    );
}

#[tokio::test]
async fn a_never_ready_cluster_has_pending_pods_without_roles() {
    let env = Env::start(Scenario::never_ready()).await;
    env.apply(cluster_manifest("hippo")).await;
    let pods = eventually(WAIT, "a pod", || async {
        let p = env.pods("hippo").await;
        (!p.is_empty()).then_some(p)
    })
    .await;
    assert!(label(&pods[0], ROLE).is_none());
    assert_eq!(
        pods[0].status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );
}

#[tokio::test]
async fn deleting_a_cluster_removes_its_pods() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    env.api
        .delete("hippo", &Default::default())
        .await
        .expect("deleted");
    eventually(WAIT, "gone", || async { env.api.get("hippo").await.err() }).await;
    assert!(env.pods("hippo").await.is_empty());
    assert!(env.operator.backup_info("default", "hippo").is_none());
}
