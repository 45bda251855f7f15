//! Garbage collection by the real controller manager (the in-process server collects inside
//! the deleting request): a claim owned by a PostgresCluster (`cluster::owned_by`, as the
//! driver's certificates and PGO's children are) is deleted some time after the cluster is;
//! a claim without the ownerReference stays.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, PostParams};
use pgplane::platform::kubernetes::cluster;
use pgplane::platform::{DeleteProgress, Platform};
use serde_json::json;

use crate::support::*;

fn claim(name: &str, owner: Option<&kube::api::DynamicObject>) -> PersistentVolumeClaim {
    let mut claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "1Gi" } },
        },
    }))
    .expect("claim");
    claim.metadata.owner_references = owner.map(|o| vec![cluster::owned_by(o)]);
    claim
}

#[tokio::test]
async fn a_claim_owned_by_a_deleted_cluster_is_collected_and_an_unowned_claim_stays() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("gc");
    ensure_counted(&env, &acme).await;
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    let namespace = env.namespace_of(&acme);
    let applied = env
        .clusters(&namespace)
        .get("orders")
        .await
        .expect("applied cluster");

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(plane.client(), &namespace);
    for c in [claim("owned", Some(&applied)), claim("unowned", None)] {
        claims
            .create(&PostParams::default(), &c)
            .await
            .expect("claim created");
    }

    // With the shared operator running, its finalizer is removed first; either way the
    // cluster goes away without the claims.
    eventually(WAIT, "the cluster gone", || async {
        let progress = env.platform.delete_cluster(&orders).await.ok()?;
        (progress == DeleteProgress::Gone).then_some(())
    })
    .await;
    eventually(
        WAIT,
        "the garbage collector to delete the owned claim",
        || async {
            // Its `kubernetes.io/pvc-protection` finalizer (added at admission) is removed by the
            // protection controller at once, as no Pod mounts it.
            let owned = claims.get_opt("owned").await.ok()?;
            owned.is_none().then_some(())
        },
    )
    .await;
    let unowned = claims.get_opt("unowned").await.expect("get");
    assert!(
        unowned.is_some_and(|c| c.metadata.deletion_timestamp.is_none()),
        "a claim without the ownerReference is kept"
    );
}
