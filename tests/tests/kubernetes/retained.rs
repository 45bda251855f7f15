//! Backups kept after a cluster's deletion (`deletion_policy: keep_backups`) on Kubernetes:
//! whom a kept repository claim belongs to, when it may go, and that no new cluster inherits
//! it (issue 17, defects 1 and 2).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use pgplane::platform::kubernetes::retained::{RETAIN_UNTIL, RETAINED};
use pgplane::platform::{ClusterTarget, DeleteProgress, Platform, PlatformError};
use serde_json::json;

use crate::support::*;

const NS: &str = "pgplane-acme";

fn claims(env: &Env) -> Api<PersistentVolumeClaim> {
    Api::namespaced(env.server.client(), NS)
}

/// A repository claim kept for the deleted cluster `cluster` (id `id`), due at `until`.
async fn kept_claim(env: &Env, cluster: &str, id: &str, until: chrono::DateTime<chrono::Utc>) {
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {
            "name": format!("{cluster}-repo1"),
            "labels": {
                "postgres-operator.crunchydata.com/cluster": cluster,
                "postgres-operator.crunchydata.com/pgbackrest-volume": "",
                RETAINED: "true",
                "app.kubernetes.io/managed-by": "pgplane",
                "pgplane.io/cluster-id": id,
            },
            "annotations": {RETAIN_UNTIL: until.to_rfc3339()},
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }))
    .unwrap();
    claims(env)
        .create(&PostParams::default(), &claim)
        .await
        .expect("kept claim");
}

fn past() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::hours(1)
}

fn future() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(3)
}

#[tokio::test]
async fn expiry_never_deletes_a_kept_claim_that_is_owned_mounted_or_named_for_a_live_cluster() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let dead = uuid::Uuid::new_v4().to_string();
    for name in ["owned", "mounted", "orders", "free"] {
        kept_claim(&env, name, &dead, past()).await;
    }
    // Owned: something (PGO, for a new cluster) took it.
    let owner = json!({"metadata": {"ownerReferences": [{
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1", "kind": "PostgresCluster",
        "name": "owned", "uid": "7c0a5f0e-0000-4000-8000-000000000001",
    }]}});
    claims(&env)
        .patch("owned-repo1", &PatchParams::default(), &Patch::Merge(owner))
        .await
        .expect("owner");
    // Mounted by a Pod.
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "reader"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "mounted-repo1"}}],
        },
    }))
    .unwrap();
    Api::<Pod>::namespaced(env.server.client(), NS)
        .create(&PostParams::default(), &pod)
        .await
        .expect("pod");
    // Named for a live cluster: an `orders` (without backups, so PGO leaves the claim alone)
    // that exists already (a later generation: its create is long past).
    let mut live = spec_deleting_backups("orders");
    live.backups.enabled = false;
    let live = ClusterTarget {
        generation: 2,
        ..target(&acme, live)
    };
    env.platform
        .apply_cluster(&live)
        .await
        .expect("live orders");

    let expired = env.platform.expire_retained_backups().await.expect("sweep");
    assert_eq!(expired, 1, "only the free claim goes");
    let left: BTreeMap<String, bool> = claims(&env)
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| Some((c.metadata.name?, c.metadata.deletion_timestamp.is_none())))
        .collect();
    for kept in ["owned-repo1", "mounted-repo1", "orders-repo1"] {
        assert_eq!(left.get(kept), Some(&true), "{kept} kept: {left:?}");
    }
    assert!(
        !left.get("free-repo1").copied().unwrap_or(false),
        "{left:?}"
    );
}

#[tokio::test]
async fn a_new_cluster_is_never_created_over_a_kept_repository_of_its_name() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let dead = uuid::Uuid::new_v4().to_string();
    kept_claim(&env, "orders", &dead, future()).await;

    let orders = target(&acme, spec("orders"));
    let refused = env.platform.apply_cluster(&orders).await.unwrap_err();
    let PlatformError::Rejected(reason) = &refused else {
        panic!("{refused:?}")
    };
    assert!(
        reason.contains(&dead) && reason.contains("orders-repo1"),
        "{reason}"
    );
    assert!(
        env.clusters(NS).get_opt("orders").await.unwrap().is_none(),
        "no PostgresCluster that PGO could hand the backups to"
    );

    // Once the retention is over, the expired claim is removed first, then the cluster made.
    claims(&env)
        .patch(
            "orders-repo1",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {RETAIN_UNTIL: past().to_rfc3339()}}}),
            ),
        )
        .await
        .unwrap();
    let applied = eventually(
        WAIT,
        "the apply after the expired claim is gone",
        || async {
            match env.platform.apply_cluster(&orders).await {
                Ok(()) => Some(()),
                Err(PlatformError::NotYet(_)) => None,
                Err(e) => panic!("{e:?}"),
            }
        },
    );
    applied.await;
    let claim = claims(&env).get_opt("orders-repo1").await.unwrap();
    assert!(
        claim.is_none_or(|c| !c.metadata.labels.unwrap_or_default().contains_key(RETAINED)),
        "the new cluster's repository is its own"
    );
}

#[tokio::test]
async fn deleting_a_cluster_that_keeps_its_backups_pauses_it_before_detaching_the_repository() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    let owned = eventually(WAIT, "PGO's repository claim", || async {
        let c = claims(&env).get_opt("orders-repo1").await.ok()??;
        c.metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| !o.is_empty())
            .then_some(c)
    })
    .await;
    assert!(owned.metadata.deletion_timestamp.is_none());

    // The pgplane requests are slow, as over a real network: the simulated PGO reconciles (and
    // re-owns every claim it manages) between any two of them.
    env.server.faults().set_latency(Duration::from_millis(150));
    let mut waited_for = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match env.platform.delete_cluster(&orders).await {
            Ok(DeleteProgress::Gone) => break,
            Ok(DeleteProgress::Deleting { waiting_for }) => waited_for.push(waiting_for),
            Err(e) => waited_for.push(e.to_string()),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not gone: {waited_for:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.server.faults().reset();
    let kept = claims(&env)
        .get_opt("orders-repo1")
        .await
        .unwrap()
        .expect("the repository outlives its cluster");
    assert!(
        waited_for.first().is_some_and(|w| w.contains("pause")),
        "PGO is paused first: {waited_for:?}"
    );
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
}
