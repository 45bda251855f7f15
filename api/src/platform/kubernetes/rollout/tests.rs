use serde_json::json;

use super::*;

fn set(name: &str, generation: i64, observed: i64, revision: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name, "generation": generation},
        "status": {"replicas": 1, "observedGeneration": observed, "updateRevision": revision},
    }))
    .unwrap()
}

fn pod(instance: &str, revision: &str, ready: bool, patroni: Option<&str>) -> Pod {
    let mut annotations = json!({});
    if let Some(status) = patroni {
        annotations["status"] = status.into();
    }
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("{instance}-0"),
            "labels": {PGO_INSTANCE: instance, REVISION_HASH: revision},
            "annotations": annotations,
        },
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
    }))
    .unwrap()
}

#[test]
fn every_pod_on_the_update_revision_and_ready_is_done() {
    let sets = [set("a", 2, 2, "a-new"), set("b", 2, 2, "b-new")];
    let pods = [
        pod(
            "a",
            "a-new",
            true,
            Some(r#"{"role":"master","pending_restart":false}"#),
        ),
        pod("b", "b-new", true, None),
    ];
    assert_eq!(what_is_pending(&sets, &pods, 2, false), None);
}

#[test]
fn status_saying_updated_is_not_enough_while_pods_run_the_old_template() {
    // PGO v5's first reconcile after a change: StatefulSets updated, no Pod recreated yet.
    let sets = [set("a", 2, 2, "a-new"), set("b", 2, 2, "b-new")];
    let pods = [pod("a", "a-old", true, None), pod("b", "b-new", true, None)];
    let pending = what_is_pending(&sets, &pods, 2, false).unwrap();
    assert!(
        pending.contains("a-0: still on the previous template"),
        "{pending}"
    );
    assert!(pending.contains("1 of 2 instances done"), "{pending}");
}

#[test]
fn a_template_the_statefulset_controller_has_not_seen_is_pending() {
    let sets = [set("a", 3, 2, "a-old")];
    let pods = [pod("a", "a-old", true, None)];
    let pending = what_is_pending(&sets, &pods, 1, false).unwrap();
    assert!(
        pending.contains("new template not yet observed"),
        "{pending}"
    );
}

#[test]
fn an_unready_pod_or_a_pending_restart_is_pending() {
    let sets = [set("a", 1, 1, "a-1")];
    let unready = [pod("a", "a-1", false, None)];
    assert!(
        what_is_pending(&sets, &unready, 1, false)
            .unwrap()
            .contains("not ready")
    );
    let restart = [pod("a", "a-1", true, Some(r#"{"pending_restart":true}"#))];
    assert!(
        what_is_pending(&sets, &restart, 1, false)
            .unwrap()
            .contains("restart pending")
    );
}

#[test]
fn missing_statefulsets_and_pods_are_pending() {
    assert!(what_is_pending(&[], &[], 2, false).is_some());
    let sets = [set("a", 1, 1, "a-1")];
    assert!(
        what_is_pending(&sets, &[], 1, false)
            .unwrap()
            .contains("Pod not running")
    );
}

#[test]
fn a_suspended_cluster_is_done_only_without_pods() {
    let sets = [set("a", 2, 2, "a-1")];
    let pods = [pod("a", "a-1", false, None)];
    assert!(what_is_pending(&sets, &pods, 1, true).is_some());
    assert_eq!(what_is_pending(&sets, &[], 1, true), None);
}
