use serde_json::{Value, json};

use super::super::ClusterSpec;
use super::*;

/// The phase rules over a PGO status, as the Kubernetes driver reports it.
fn observe(
    status: Option<&Value>,
    generation: i64,
    spec: &ClusterSpec,
    deleting: bool,
) -> Observed {
    super::observe(&Report::from_pgo(status), generation, spec, deleting)
}

/// A PGO status, starting from a healthy one-instance cluster with backups at generation 1.
struct Status(Value);

fn healthy() -> Status {
    Status(json!({
        "observedGeneration": 1,
        "conditions": [],
        "patroni": { "systemIdentifier": "7312345678901234567" },
        "instances": [{ "name": "instance1", "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1 }],
        "pgbackrest": {
            "repoHost": { "apiVersion": "apps/v1", "kind": "StatefulSet", "ready": true },
            "repos": [{ "name": "repo1", "bound": true, "stanzaCreated": true, "replicaCreateBackupComplete": true }],
        },
    }))
}

impl Status {
    fn observed(mut self, generation: i64) -> Self {
        self.0["observedGeneration"] = json!(generation);
        self
    }
    fn pods(mut self, pods: i64, ready: i64, updated: i64) -> Self {
        self.0["instances"][0] = json!({ "name": "instance1", "replicas": pods, "readyReplicas": ready, "updatedReplicas": updated });
        self
    }
    fn fresh(mut self) -> Self {
        self.0["patroni"] = json!({});
        self.pods(1, 0, 1)
    }
    fn repo(mut self, stanza: bool, backup_complete: bool) -> Self {
        self.0["pgbackrest"]["repos"][0]["stanzaCreated"] = json!(stanza);
        self.0["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"] = json!(backup_complete);
        self
    }
    fn condition(mut self, kind: &str, status: &str, message: &str) -> Self {
        let condition = json!({ "type": kind, "status": status, "reason": "Test", "message": message,
                                "lastTransitionTime": "2026-11-25T10:00:00Z" });
        self.0["conditions"].as_array_mut().unwrap().push(condition);
        self
    }
    fn pooler(mut self, ready: i64) -> Self {
        self.0["proxy"] = json!({ "pgBouncer": { "readyReplicas": ready, "replicas": 2 } });
        self
    }
    fn scheduled(mut self, kind: &str, start: &str, failed: i64, completed: bool) -> Self {
        let mut job =
            json!({ "type": kind, "startTime": start, "failed": failed, "repo": "repo1" });
        if completed {
            job["completionTime"] = json!(start);
            job["succeeded"] = json!(1);
        }
        let jobs = &mut self.0["pgbackrest"]["scheduledBackups"];
        if jobs.is_null() {
            *jobs = json!([]);
        }
        jobs.as_array_mut().unwrap().push(job);
        self
    }
    fn set(mut self, pointer: &str, value: Value) -> Self {
        *self.0.pointer_mut(pointer).unwrap() = value;
        self
    }
}

fn see(status: Status, generation: i64, spec: &ClusterSpec) -> Observed {
    observe(Some(&status.0), generation, spec, false)
}

fn phase(status: Status, spec: &ClusterSpec) -> Phase {
    see(status, 1, spec).phase
}

#[test]
fn row_1_a_cluster_being_deleted_is_deleting_whatever_its_status() {
    let seen = observe(Some(&healthy().0), 1, &ClusterSpec::test(), true);
    assert_eq!((seen.phase, seen.message), (Phase::Deleting, None));
    assert_eq!(
        observe(None, 1, &ClusterSpec::test(), true).phase,
        Phase::Deleting
    );
}

#[test]
fn row_2_without_an_observed_generation_the_cluster_is_pending() {
    let spec = ClusterSpec::test();
    assert_eq!(observe(None, 1, &spec, false).phase, Phase::Pending);
    assert_eq!(
        observe(Some(&json!({})), 1, &spec, false).phase,
        Phase::Pending
    );
    assert_eq!(phase(healthy().observed(0), &spec), Phase::Pending);
    assert_eq!(
        observe(Some(&json!("garbage")), 1, &spec, false).phase,
        Phase::Pending
    );
}

#[test]
fn row_3_a_paused_reconcile_is_failed_with_the_operators_reason() {
    let status = healthy().condition(
        "Progressing",
        "False",
        "Reconciliation is paused: fill in spec.backups",
    );
    let seen = see(status, 1, &ClusterSpec::test());
    assert_eq!(seen.phase, Phase::Failed);
    assert!(seen.message.unwrap().contains("fill in spec.backups"));
}

#[test]
fn row_4_a_shut_down_cluster_is_suspended_and_names_its_primary() {
    let mut status = healthy().pods(0, 0, 0);
    status.0["startupInstance"] = json!("orders-instance1-abcd");
    let seen = see(status, 1, &ClusterSpec::test().suspended());
    assert_eq!(seen.phase, Phase::Suspended);
    assert_eq!(
        seen.primary_instance.as_deref(),
        Some("orders-instance1-abcd")
    );
    assert_eq!((seen.desired_instances, seen.ready_instances), (0, 0));
}

#[test]
fn row_5_a_cluster_still_stopping_is_updating() {
    let spec = ClusterSpec::test().suspended();
    assert_eq!(see(healthy(), 1, &spec).phase, Phase::Updating);
    assert_eq!(
        see(healthy().pods(0, 0, 0), 2, &spec).phase,
        Phase::Updating
    );
}

#[test]
fn row_6_an_unobserved_generation_is_updating_or_still_provisioning() {
    let spec = ClusterSpec::test();
    let seen = see(healthy(), 2, &spec);
    assert_eq!(seen.phase, Phase::Updating);
    assert_eq!(seen.observed_generation, Some(1));
    assert_eq!(see(healthy().fresh(), 2, &spec).phase, Phase::Provisioning);
}

#[test]
fn row_7_before_bootstrap_the_cluster_is_provisioning() {
    assert_eq!(
        phase(healthy().fresh(), &ClusterSpec::test()),
        Phase::Provisioning
    );
}

#[test]
fn row_8_waiting_for_the_first_backup_is_provisioning() {
    let ha = ClusterSpec::test().with_instances(3);
    assert_eq!(
        phase(healthy().repo(false, false), &ClusterSpec::test()),
        Phase::Provisioning
    );
    assert_eq!(
        phase(healthy().pods(3, 1, 3).repo(true, false), &ha),
        Phase::Provisioning
    );
    assert_eq!(
        phase(healthy().repo(true, false), &ClusterSpec::test()),
        Phase::Ready
    );
    let no_backups = ClusterSpec::test().with_backups(false);
    assert_eq!(
        phase(healthy().set("/pgbackrest", json!({})), &no_backups),
        Phase::Ready
    );
}

#[test]
fn row_9_resizing_volumes_is_updating() {
    let status = healthy().condition("PersistentVolumeResizing", "True", "resizing");
    assert_eq!(phase(status, &ClusterSpec::test()), Phase::Updating);
    let done = healthy().condition("PersistentVolumeResizing", "False", "");
    assert_eq!(phase(done, &ClusterSpec::test()), Phase::Ready);
}

#[test]
fn row_10_pods_being_added_removed_or_rolled_is_updating() {
    let ha = ClusterSpec::test().with_instances(3);
    assert_eq!(phase(healthy().pods(2, 2, 2), &ha), Phase::Updating);
    assert_eq!(phase(healthy().pods(3, 3, 1), &ha), Phase::Updating);
    assert_eq!(
        phase(healthy().pods(3, 3, 3), &ClusterSpec::test()),
        Phase::Updating,
        "scaling down"
    );
}

#[test]
fn row_11_fewer_ready_instances_than_desired_is_degraded() {
    let ha = ClusterSpec::test().with_instances(3);
    let seen = see(healthy().pods(3, 2, 3), 1, &ha);
    assert_eq!(seen.phase, Phase::Degraded);
    assert_eq!(seen.message.as_deref(), Some("2 of 3 instances ready"));
    assert_eq!((seen.ready_instances, seen.desired_instances), (2, 3));
    assert_eq!(
        phase(healthy().pods(1, 0, 1), &ClusterSpec::test()),
        Phase::Degraded
    );
}

#[test]
fn row_12_a_broken_repository_after_the_first_backup_is_degraded() {
    assert_eq!(
        phase(healthy().repo(false, true), &ClusterSpec::test()),
        Phase::Degraded
    );
}

#[test]
fn row_13_an_unready_repository_host_is_degraded() {
    let status = healthy().set("/pgbackrest/repoHost/ready", json!(false));
    assert_eq!(phase(status, &ClusterSpec::test()), Phase::Degraded);
}

#[test]
fn row_14_an_unready_pooler_is_degraded() {
    let spec = ClusterSpec::test().with_pooler(true, 2);
    let seen = see(healthy().pooler(1), 1, &spec);
    assert_eq!(
        (seen.phase, seen.pooler_ready),
        (Phase::Degraded, Some(false))
    );
    let unavailable = healthy()
        .pooler(2)
        .condition("ProxyAvailable", "False", "no endpoints");
    assert_eq!(phase(unavailable, &spec), Phase::Degraded);
    let seen = see(
        healthy().pooler(2).condition("ProxyAvailable", "True", ""),
        1,
        &spec,
    );
    assert_eq!((seen.phase, seen.pooler_ready), (Phase::Ready, Some(true)));
}

#[test]
fn row_15_a_failed_latest_scheduled_backup_is_degraded() {
    let spec = ClusterSpec::test();
    let failed = healthy()
        .scheduled("full", "2026-11-22T01:00:00Z", 0, true)
        .scheduled("incr", "2026-11-24T01:00:00Z", 1, false);
    let seen = see(failed, 1, &spec);
    assert_eq!(seen.phase, Phase::Degraded);
    assert_eq!(
        seen.message.as_deref(),
        Some("the last scheduled incremental backup failed")
    );
    let recovered = healthy()
        .scheduled("incr", "2026-11-23T01:00:00Z", 1, false)
        .scheduled("incr", "2026-11-24T01:00:00+01:00", 0, true);
    assert_eq!(phase(recovered, &spec), Phase::Ready);
}

#[test]
fn row_16_a_healthy_cluster_is_ready() {
    let seen = see(healthy(), 1, &ClusterSpec::test());
    assert_eq!(
        seen,
        Observed {
            phase: Phase::Ready,
            ready_instances: 1,
            desired_instances: 1,
            primary_instance: None,
            observed_generation: Some(1),
            message: None,
            pooler_ready: None,
            metrics_url: None,
        }
    );
}

#[test]
fn phases_serialise_in_snake_case() {
    assert_eq!(
        serde_json::to_value(Phase::Provisioning).unwrap(),
        json!("provisioning")
    );
    assert_eq!(
        serde_json::to_value(Phase::Suspended).unwrap(),
        json!("suspended")
    );
}
