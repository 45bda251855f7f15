//! Issue 17's data-safety defects on the real apiserver, with the real garbage collector, claim
//! protection and quota admission, and the simulated PGO running as a controller (re-owning
//! the claims it manages on every reconcile, rolling Pods in PGO v5's order):
//!
//! - defect 2: a cluster deleted with `keep_backups` leaves its repository claim behind;
//! - defect 1: a new cluster of a dead cluster's name never gets (or loses) its backups;
//! - defect 8: a re-created tenant adopts its namespace, and kept claims get quota room;
//! - defects 3 and 6: a change is done when its Pods rolled, a suspension when none is left.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams, PostParams};
use pgplane::domain::cluster::DeletionPolicy;
use pgplane::platform::kubernetes::retained::{RETAIN_UNTIL, RETAINED};
use pgplane::platform::{ClusterTarget, DeleteProgress, Platform, PlatformError};
use serde_json::json;

use crate::support::*;

/// Deletes `target` as a job worker would, until it is gone; returns what it waited for.
async fn delete_until_gone(env: &Env<'_>, target: &ClusterTarget) -> Vec<String> {
    let mut waited_for = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match env.platform.delete_cluster(target).await {
            Ok(DeleteProgress::Gone) => return waited_for,
            Ok(DeleteProgress::Deleting { waiting_for }) => waited_for.push(waiting_for),
            Err(e) => waited_for.push(e.to_string()),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not gone: {waited_for:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn owned_repository(env: &Env<'_>, namespace: &str, cluster: &str) -> PersistentVolumeClaim {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(env.plane.client(), namespace);
    let name = format!("{cluster}-repo1");
    eventually(
        WAIT,
        "PGO's repository claim, owned by the cluster",
        || async {
            let c = claims.get_opt(&name).await.ok()??;
            c.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| !o.is_empty())
                .then_some(c)
        },
    )
    .await
}

fn keeping(name: &str) -> pgplane::domain::cluster::ClusterSpec {
    let mut s = spec(name);
    s.deletion_policy = DeletionPolicy::KeepBackups;
    s
}

#[tokio::test]
async fn kept_backups_outlive_their_cluster_through_pgos_reconciles_and_the_garbage_collector() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    operator(plane);
    let acme = tenant("keep");
    ensure_counted(&env, &acme).await;
    let namespace = env.namespace_of(&acme);
    let orders = target(&acme, keeping("orders"));
    apply_until_admitted(&env, &orders).await;
    let owned = owned_repository(&env, &namespace, "orders").await;

    let waited_for = delete_until_gone(&env, &orders).await;
    assert!(
        waited_for.first().is_some_and(|w| w.contains("pause")),
        "{waited_for:?}"
    );
    // The collector works asynchronously: give it time to (wrongly) act.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(plane.client(), &namespace);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kept = claims
        .get_opt("orders-repo1")
        .await
        .unwrap()
        .expect("the repository outlives its cluster");
    assert_eq!(kept.metadata.uid, owned.metadata.uid, "the same volume");
    assert!(kept.metadata.deletion_timestamp.is_none());
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
    let labels = kept.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels["pgplane.io/cluster-id"],
        orders.cluster_id.to_string()
    );
    assert_eq!(labels[RETAINED], "true");

    // A new cluster of that name is refused while they are kept...
    let again = target(&acme, keeping("orders"));
    let refused = env.platform.apply_cluster(&again).await;
    assert!(
        matches!(&refused, Err(PlatformError::Rejected(r)) if r.contains(&orders.cluster_id.to_string())),
        "{refused:?}"
    );
    // ...and once they expire, they are removed (claim protection lets go: nothing mounts
    // them) before the new cluster is made, which gets a repository of its own.
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    claims
        .patch(
            "orders-repo1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {RETAIN_UNTIL: past}}})),
        )
        .await
        .unwrap();
    apply_until_admitted(&env, &again).await;
    let fresh = owned_repository(&env, &namespace, "orders").await;
    assert_ne!(fresh.metadata.uid, owned.metadata.uid);
    assert!(
        !fresh
            .metadata
            .labels
            .unwrap_or_default()
            .contains_key(RETAINED)
    );
}

#[tokio::test]
async fn a_recreated_tenant_adopts_its_namespace_and_kept_claims_get_room_in_its_quota() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let mut old = tenant("again");
    old.quota.max_storage_gib = 6;
    ensure_counted(&env, &old).await;
    let namespace = env.namespace_of(&old);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(plane.client(), &namespace);
    let kept: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "gone-repo1", "labels": {
            RETAINED: "true", "app.kubernetes.io/managed-by": "pgplane",
        }},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }))
    .unwrap();
    claims
        .create(&PostParams::default(), &kept)
        .await
        .expect("a kept claim");

    // The same name, a new tenant: refused before, adopted now that the old id is known gone.
    let mut new = old.clone();
    new.tenant_id = uuid::Uuid::new_v4();
    new.quota.max_storage_gib = 2;
    let fresh_driver = || {
        pgplane::platform::kubernetes::KubernetesPlatform::new(plane.client(), Default::default())
    };
    let refused = fresh_driver().ensure_tenant(&new).await;
    assert!(
        matches!(&refused, Err(PlatformError::Rejected(r)) if r.contains("belongs to another tenant")),
        "{refused:?}"
    );
    new.former_ids = vec![old.tenant_id];
    fresh_driver().ensure_tenant(&new).await.expect("adopted");
    let labels = Api::<Namespace>::all(plane.client())
        .get(&namespace)
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels["pgplane.io/tenant-id"], new.tenant_id.to_string());

    // 2 GiB of quota, 5 GiB kept: a new 2 GiB volume is admitted by the real quota.
    let volume: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "orders-repo1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }))
    .unwrap();
    let admitted = eventually(WAIT, "the new volume admitted", || async {
        claims.create(&PostParams::default(), &volume).await.ok()
    })
    .await;
    assert!(admitted.metadata.uid.is_some());
}

#[tokio::test]
async fn a_change_is_done_once_its_pods_rolled_a_suspension_once_none_is_left_and_a_resume_once_all_run()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    operator(plane);
    let acme = tenant("rollout");
    ensure_counted(&env, &acme).await;
    let mut first = spec("orders");
    first.instances = 2;
    let v1 = target(&acme, first.clone());
    apply_until_admitted(&env, &v1).await;
    settled(&env, &v1).await;

    let mut bigger = first.clone();
    bigger.resources.cpu = "2".into();
    let v2 = ClusterTarget {
        generation: 2,
        spec: bigger.clone(),
        ..v1.clone()
    };
    env.platform.apply_cluster(&v2).await.expect("applied");
    let namespace = env.namespace_of(&acme);
    // PGO's status says the new generation is done (observed, every instance "updated")...
    eventually(WAIT, "PGO's status to report the generation", || async {
        let c = env.clusters(&namespace).get("orders").await.ok()?;
        (c.data["status"]["observedGeneration"].as_i64() == c.metadata.generation).then_some(())
    })
    .await;
    // ...while the Pods have not all been recreated yet.
    assert!(env.platform.rollout_pending(&v2).await.unwrap().is_some());
    settled(&env, &v2).await;
    let restarts = operator(plane).restarts(&namespace, "orders");
    let restarted: std::collections::BTreeSet<&str> =
        restarts.iter().map(|(pod, _)| pod.as_str()).collect();
    assert_eq!(restarted.len(), 2, "every instance restarted: {restarts:?}");

    let mut stopped = bigger;
    stopped.suspended = true;
    let v3 = ClusterTarget {
        generation: 3,
        spec: stopped,
        ..v2
    };
    env.platform.apply_cluster(&v3).await.expect("applied");
    settled(&env, &v3).await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(plane.client(), &namespace);
    let left = pods
        .list(&kube::api::ListParams::default().labels(
            "postgres-operator.crunchydata.com/cluster=orders,postgres-operator.crunchydata.com/instance",
        ))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "no instance Pod runs once suspended");
    let object = env.clusters(&namespace).get("orders").await.unwrap();
    assert_eq!(object.data["spec"]["shutdown"], true);

    // Resumed: done once both instances run again, ready, on the current template.
    let mut running = v3.spec.clone();
    running.suspended = false;
    let v4 = ClusterTarget {
        generation: 4,
        spec: running,
        ..v3
    };
    env.platform.apply_cluster(&v4).await.expect("applied");
    assert!(
        env.platform.rollout_pending(&v4).await.unwrap().is_some(),
        "not done while the instances are still stopped"
    );
    settled(&env, &v4).await;
    let back = pods
        .list(&kube::api::ListParams::default().labels(
            "postgres-operator.crunchydata.com/cluster=orders,postgres-operator.crunchydata.com/instance",
        ))
        .await
        .unwrap();
    assert_eq!(back.items.len(), 2, "both instances run again");
}

async fn settled(env: &Env<'_>, target: &ClusterTarget) {
    eventually(WAIT, "the rollout to settle", || async {
        env.platform
            .rollout_pending(target)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}
