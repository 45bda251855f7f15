//! Storage resizes on the real apiserver. Its `PersistentVolumeClaimResize` admission (which
//! the in-process server copies, messages included) refuses to grow a claim whose
//! StorageClass does not allow expansion; pgplane refuses such a resize before applying it,
//! and a resize on a class that can expand is done only once the data volume has grown.

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube_test_apiserver::operator::{Scenario, SimulatedOperator};
use pgplane::platform::{ClusterTarget, Platform, PlatformError};
use pgplane_tests::envtest::unique_name;
use serde_json::json;

use crate::support::*;

async fn storage_class(env: &Env<'_>, prefix: &str, expandable: bool) -> String {
    let name = unique_name(prefix);
    let class: StorageClass = serde_json::from_value(json!({
        "metadata": { "name": name },
        "provisioner": "csi.example.com",
        "allowVolumeExpansion": expandable,
    }))
    .expect("a StorageClass");
    Api::<StorageClass>::all(env.plane.client())
        .create(&PostParams::default(), &class)
        .await
        .expect("StorageClass created");
    name
}

/// A one-instance cluster of a new tenant on StorageClass `class`, created and done.
async fn done_cluster(
    env: &Env<'_>,
    class: &str,
    scenario: Option<(&SimulatedOperator, Scenario)>,
) -> ClusterTarget {
    let acme = tenant("storage");
    ensure_counted(env, &acme).await;
    let mut s = spec("orders");
    s.storage.size = "20Gi".into();
    s.storage.class = Some(class.into());
    let v1 = target(&acme, s);
    if let Some((operator, scenario)) = scenario {
        operator.set_scenario(&env.namespace_of(&acme), "orders", scenario);
    }
    apply_until_admitted(env, &v1).await;
    until_done(env, &v1).await;
    v1
}

async fn until_done(env: &Env<'_>, target: &ClusterTarget) {
    eventually(WAIT, "the change to be done", || async {
        let pending = env.platform.rollout_pending(target).await.ok()?;
        let claims = data_claims(env, target).await;
        (pending.is_none() && !claims.is_empty()).then_some(())
    })
    .await;
}

async fn data_claims(env: &Env<'_>, target: &ClusterTarget) -> Vec<PersistentVolumeClaim> {
    Api::<PersistentVolumeClaim>::namespaced(env.plane.client(), &env.namespace_of(&target.tenant))
        .list(&ListParams::default().labels(
            "postgres-operator.crunchydata.com/cluster=orders,\
             postgres-operator.crunchydata.com/role=pgdata",
        ))
        .await
        .expect("claims")
        .items
}

fn storage(
    q: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
) -> String {
    q.and_then(|m| m.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default()
}

fn grown_to(target: &ClusterTarget, size: &str) -> ClusterTarget {
    let mut next = target.clone();
    next.generation += 1;
    next.spec.storage.size = size.into();
    next
}

#[tokio::test]
async fn growing_a_claim_whose_class_cannot_expand_is_refused_by_the_apiserver_and_first_by_pgplane()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    operator(plane);
    let fixed = storage_class(&env, "fixed", false).await;
    let v1 = done_cluster(&env, &fixed, None).await;

    let refused = env.platform.apply_cluster(&grown_to(&v1, "30Gi")).await;
    let Err(PlatformError::Rejected(reason)) = &refused else {
        panic!("a resize the volumes cannot follow must be refused: {refused:?}");
    };
    assert!(
        reason.contains(&format!(
            "StorageClass {fixed} does not allow volume expansion"
        )),
        "{reason}"
    );

    // What PGO would apply next, refused by the apiserver's admission as the in-process
    // server refuses it (the simulated operator turns that into its Warning Event).
    let claim = data_claims(&env, &v1).await.remove(0);
    let name = claim.metadata.name.clone().unwrap_or_default();
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(plane.client(), &env.namespace_of(&v1.tenant));
    let grow = json!({ "spec": { "resources": { "requests": { "storage": "30Gi" } } } });
    let status = api_status(
        claims
            .patch(&name, &PatchParams::default(), &Patch::Merge(grow))
            .await,
    );
    assert_eq!(status.code, 403, "{status:?}");
    assert!(
        status.message.contains(
            "only dynamically provisioned pvc can be resized and the storageclass that \
             provisions the pvc must support resize"
        ),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_resize_on_a_class_that_can_expand_is_done_once_the_volume_has_grown() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let operator = operator(plane);
    let expandable = storage_class(&env, "expandable", true).await;
    let slow_growth = Scenario::healthy().volumes_grow_in(Duration::from_secs(5));
    let v1 = done_cluster(&env, &expandable, Some((operator, slow_growth))).await;

    let v2 = grown_to(&v1, "30Gi");
    apply_until_admitted(&env, &v2).await;
    let asked = eventually(WAIT, "the claim to ask for 30Gi", || async {
        let claims = data_claims(&env, &v2).await;
        claims
            .iter()
            .all(|c| {
                storage(
                    c.spec
                        .as_ref()
                        .and_then(|s| s.resources.as_ref()?.requests.as_ref()),
                ) == "30Gi"
            })
            .then_some(claims)
    })
    .await;
    let capacity = storage(asked[0].status.as_ref().and_then(|s| s.capacity.as_ref()));
    assert_eq!(capacity, "20Gi", "the volume takes 5 s to grow");
    let pending = env.platform.rollout_pending(&v2).await.expect("read");
    assert!(
        pending
            .as_deref()
            .is_some_and(|p| p.contains("data volumes to grow to 30Gi")),
        "the resize must not be done before the volume grew: {pending:?}"
    );
    until_done(&env, &v2).await;
    let grown = data_claims(&env, &v2).await;
    assert_eq!(
        storage(grown[0].status.as_ref().and_then(|s| s.capacity.as_ref())),
        "30Gi"
    );
}
