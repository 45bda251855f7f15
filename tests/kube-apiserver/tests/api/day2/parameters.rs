//! Parameters that need a restart: Patroni's `pending_restart` and PGO's
//! `handlePatroniRestarts`, after the generation is already reported.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

fn with_parameters(name: &str, replicas: i64, parameters: Value) -> Value {
    let mut m = ha(name, replicas);
    m["spec"]["config"] = json!({ "parameters": parameters });
    m
}

fn member(pod: &Pod) -> Value {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("status"))
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn pending(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("status"))
        .is_some_and(|s| s.contains(r#""pending_restart":true"#))
}

#[tokio::test]
async fn a_restart_parameter_is_reported_first_then_pending_then_restarted_replicas_before_the_primary()
 {
    // Flags last 300 ms before PGO acts on them and restarts 500 ms: long enough to be seen
    // by polling on a loaded machine.
    let scenario = fast()
        .patroni_loop_wait(Duration::from_millis(600))
        .reobserves_after(Duration::from_millis(300))
        .restarts_take(Duration::from_millis(500));
    let env = Env::start(scenario).await;
    let params = json!({ "max_connections": "100", "work_mem": "4MB" });
    env.ready(with_parameters("hippo", 3, params)).await;
    let primary = format!("{}-0", env.leader("hippo").await.expect("a leader"));
    let uids: BTreeMap<String, Option<String>> = env
        .pods("hippo")
        .await
        .iter()
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                p.metadata.uid.clone(),
            )
        })
        .collect();

    let started = tokio::time::Instant::now();
    env.apply(with_parameters(
        "hippo",
        3,
        json!({ "max_connections": "200", "work_mem": "4MB" }),
    ))
    .await;

    // For each Pod: when it was first seen pending, and first seen restarting.
    let mut first_pending: BTreeMap<String, Duration> = BTreeMap::new();
    let mut first_restart: BTreeMap<String, Duration> = BTreeMap::new();
    let mut observed_before_pending = false;
    let mut restarting_state = std::collections::BTreeSet::new();
    loop {
        let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
        let pods = env.pods("hippo").await;
        let at = started.elapsed();
        if status["observedGeneration"] == 2 && first_pending.is_empty() && first_restart.is_empty()
        {
            observed_before_pending = true;
        }
        for p in &pods {
            let name = p.metadata.name.clone().unwrap_or_default();
            if pending(p) {
                first_pending.entry(name.clone()).or_insert(at);
            }
            if member(p)["state"] == "restarting" {
                restarting_state.insert(name.clone());
            }
            if !pod_ready(p) {
                assert!(label(p, ROLE).is_some(), "the role stays during a restart");
                first_restart.entry(name).or_insert(at);
            }
        }
        let settled = first_restart.len() == 3
            && pods.len() == 3
            && pods.iter().all(|p| pod_ready(p) && !pending(p));
        if settled {
            break;
        }
        assert!(
            at < WAIT,
            "never restarted: {first_pending:?} {first_restart:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        observed_before_pending,
        "observedGeneration is reported before anything is pending or restarted"
    );
    assert_eq!(
        first_pending.len(),
        3,
        "every member flagged: {first_pending:?}"
    );
    assert_eq!(
        restarting_state.len(),
        3,
        "Patroni's state during the restart"
    );
    let replicas: Vec<&String> = first_restart.keys().filter(|n| **n != primary).collect();
    for r in replicas {
        assert!(
            first_pending[r] < first_pending[&primary],
            "replicas flag a loop before the primary: {first_pending:?}"
        );
        assert!(
            first_restart[r] < first_restart[&primary],
            "replicas restart first: {first_restart:?}"
        );
    }
    // Restarted in place: same Pods, no rollout, same leader.
    let after = env.pods("hippo").await;
    for p in &after {
        let name = p.metadata.name.clone().unwrap_or_default();
        assert_eq!(
            uids.get(&name),
            Some(&p.metadata.uid),
            "{name} not recreated"
        );
    }
    assert!(env.operator.restarts("default", "hippo").is_empty());
    assert_eq!(
        env.leader("hippo").await.map(|l| format!("{l}-0")),
        Some(primary)
    );
}

#[tokio::test]
async fn a_reloadable_parameter_needs_no_restart() {
    let scenario = fast().patroni_loop_wait(Duration::from_millis(20));
    let env = Env::start(scenario).await;
    env.ready(with_parameters("hippo", 2, json!({ "work_mem": "4MB" })))
        .await;
    env.apply(with_parameters("hippo", 2, json!({ "work_mem": "64MB" })))
        .await;
    env.until("hippo", "observed", |s| s["observedGeneration"] == 2)
        .await;
    for _ in 0..20 {
        let pods = env.pods("hippo").await;
        assert!(pods.iter().all(|p| pod_ready(p) && !pending(p)));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
