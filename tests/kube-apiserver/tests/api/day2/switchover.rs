//! Switchovers.

use std::time::Duration;

use kube_test_apiserver::operator::{ROLE_REPLICA, SWITCHOVER_ANNOTATION};
use serde_json::{Value, json};

use super::*;

fn request(id: &str, target: Option<&str>) -> Value {
    json!({
        "metadata": { "annotations": { SWITCHOVER_ANNOTATION: id } },
        "spec": { "patroni": { "switchover": { "enabled": true, "targetInstance": target } } },
    })
}

#[tokio::test]
async fn a_switchover_moves_the_leader_to_the_target_instance() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 3)).await;
    let leader = env.leader("hippo").await.expect("a leader");
    let pods = env.pods("hippo").await;
    assert_eq!(pods.len(), 3);
    let target = pods
        .iter()
        .filter_map(|p| label(p, INSTANCE))
        .find(|i| *i != leader)
        .expect("a replica")
        .to_string();

    env.merge("hippo", request("s1", Some(&target))).await;
    let done = env
        .until("hippo", "switched over", |s| {
            s["patroni"]["switchover"] == "s1"
        })
        .await;
    assert!(
        done.data["status"]["patroni"]
            .get("switchoverTimeline")
            .is_none()
    );
    assert_eq!(env.leader("hippo").await.as_deref(), Some(target.as_str()));
    let pods = env.pods("hippo").await;
    let roles: Vec<(&str, &str)> = pods
        .iter()
        .map(|p| {
            (
                label(p, INSTANCE).unwrap_or(""),
                label(p, ROLE).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        roles.iter().filter(|(_, r)| *r == ROLE_REPLICA).count(),
        2,
        "{roles:?}"
    );
    let member: Value = serde_json::from_str(
        pods.iter()
            .find(|p| label(p, INSTANCE) == Some(target.as_str()))
            .and_then(|p| p.metadata.annotations.as_ref()?.get("status").cloned())
            .as_deref()
            .unwrap_or("{}"),
    )
    .expect("Patroni status annotation");
    assert_eq!(
        (member["role"].as_str(), member["timeline"].as_i64()),
        (Some("master"), Some(2))
    );

    // The same value again does nothing; a new one without target picks a replica.
    env.merge("hippo", request("s2", None)).await;
    env.until("hippo", "second switchover", |s| {
        s["patroni"]["switchover"] == "s2"
    })
    .await;
    let next = env.leader("hippo").await.expect("a leader");
    assert_ne!(next, target);
}

#[tokio::test]
async fn the_timeline_is_recorded_while_the_switchover_runs() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    // Patroni's switchover lasts until the scenario releases it.
    let held = fast().jobs_take(Duration::from_secs(3600));
    env.operator.set_scenario("default", "hippo", held);
    env.merge("hippo", request("s1", None)).await;
    let pending = env
        .until("hippo", "timeline recorded", |s| {
            s["patroni"].get("switchoverTimeline").is_some()
        })
        .await;
    assert_eq!(pending.data["status"]["patroni"]["switchoverTimeline"], 1);
    assert!(
        pending.data["status"]["patroni"]
            .get("switchover")
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let still = env.api.get("hippo").await.expect("cluster");
    assert!(still.data["status"]["patroni"].get("switchover").is_none());
    env.operator.set_scenario("default", "hippo", fast());
    env.until("hippo", "switched over", |s| {
        s["patroni"]["switchover"] == "s1"
    })
    .await;
}

#[tokio::test]
async fn an_unknown_target_or_a_single_instance_never_completes() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    env.ready(cluster_manifest("solo")).await;
    env.merge("hippo", request("s1", Some("hippo-instance1-zzzz")))
        .await;
    env.merge("solo", request("s1", None)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for name in ["hippo", "solo"] {
        let status = env.api.get(name).await.expect("cluster").data["status"].clone();
        assert!(
            status["patroni"].get("switchover").is_none(),
            "{name}: {status}"
        );
        assert!(status["patroni"].get("switchoverTimeline").is_none());
    }
    assert!(
        env.events("hippo").await.is_empty()
            || env
                .events("hippo")
                .await
                .iter()
                .all(|e| e.type_.as_deref() == Some("Normal")),
        "PGO records no Event for a failed switchover"
    );
}

#[tokio::test]
async fn disabling_switchovers_clears_their_status() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    env.merge("hippo", request("s1", None)).await;
    env.until("hippo", "switched over", |s| {
        s["patroni"]["switchover"] == "s1"
    })
    .await;
    env.merge(
        "hippo",
        json!({ "spec": { "patroni": { "switchover": { "enabled": false } } } }),
    )
    .await;
    env.until("hippo", "cleared", |s| {
        s["patroni"].get("switchover").is_none()
    })
    .await;
}
