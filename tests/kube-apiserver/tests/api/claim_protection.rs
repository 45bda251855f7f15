//! PersistentVolumeClaim protection, as on Kubernetes 1.36: admission gives every claim the
//! `kubernetes.io/pvc-protection` finalizer, and the pvc-protection controller removes it from
//! a claim being deleted once no scheduled Pod mounts it (whatever that Pod's phase).

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const PROTECTION: &str = "kubernetes.io/pvc-protection";

fn claim(name: &str) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "1Gi" } }
        }
    }))
    .expect("a claim")
}

/// A Pod mounting `claim`; `node` set means the scheduler placed it.
fn mounting(name: &str, claim: &str, node: Option<&str>) -> Pod {
    let mut spec = json!({
        "containers": [{ "name": "c", "image": "busybox" }],
        "volumes": [{ "name": "data", "persistentVolumeClaim": { "claimName": claim } }],
    });
    if let Some(node) = node {
        spec["nodeName"] = Value::from(node);
    }
    serde_json::from_value(json!({ "metadata": { "name": name }, "spec": spec })).expect("a Pod")
}

struct Ns {
    claims: Api<PersistentVolumeClaim>,
    pods: Api<Pod>,
}

fn in_ns(client: &kube::Client, ns: &str) -> Ns {
    Ns {
        claims: Api::namespaced(client.clone(), ns),
        pods: Api::namespaced(client.clone(), ns),
    }
}

async fn terminating(claims: &Api<PersistentVolumeClaim>, name: &str) -> bool {
    let c = claims.get(name).await.expect("still there");
    c.metadata.deletion_timestamp.is_some()
        && c.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&PROTECTION.to_string())
}

#[tokio::test]
async fn every_new_claim_carries_the_protection_finalizer_owned_by_no_manager() {
    let server = server().await;
    let ns = in_ns(&server.client(), "default");
    let created = ns
        .claims
        .create(&PostParams::default(), &claim("data"))
        .await
        .expect("created");
    assert_eq!(
        created.metadata.finalizers,
        Some(vec![PROTECTION.to_string()])
    );
    let owned = json!(created.metadata.managed_fields);
    assert!(owned[0]["fieldsV1"].get("f:metadata").is_none(), "{owned}");
    let applied = ns
        .claims
        .patch(
            "applied",
            &PatchParams::apply("pgplane"),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": "applied" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } },
            })),
        )
        .await
        .expect("applied");
    assert_eq!(
        applied.metadata.finalizers,
        Some(vec![PROTECTION.to_string()])
    );
}

#[tokio::test]
async fn a_deleted_claim_a_scheduled_pod_mounts_stays_terminating_until_the_pod_is_gone() {
    let server = server().await;
    let client = server.client();
    let ns = in_ns(&client, "default");
    ns.claims
        .create(&PostParams::default(), &claim("data"))
        .await
        .expect("claim");
    ns.pods
        .create(
            &PostParams::default(),
            &mounting("db", "data", Some("node-1")),
        )
        .await
        .expect("pod");
    let answer = ns
        .claims
        .delete("data", &DeleteParams::default())
        .await
        .expect("deletion accepted");
    assert!(answer.is_left(), "the claim is not gone yet: {answer:?}");
    assert!(terminating(&ns.claims, "data").await);

    // A finished Pod still holds it (the controller looks at scheduled Pods, not phases).
    ns.pods
        .patch_status(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "phase": "Succeeded" } })),
        )
        .await
        .expect("finished");
    assert!(terminating(&ns.claims, "data").await);

    ns.pods
        .delete("db", &DeleteParams::default())
        .await
        .expect("pod deleted");
    assert_eq!(
        status(ns.claims.get("data").await.expect_err("released")).code,
        404
    );
}

#[tokio::test]
async fn a_claim_no_scheduled_pod_mounts_goes_at_once() {
    let server = server().await;
    let ns = in_ns(&server.client(), "default");
    for name in ["idle", "pending"] {
        ns.claims
            .create(&PostParams::default(), &claim(name))
            .await
            .expect("claim");
    }
    // Not scheduled: the kubelet never saw it, so it cannot be using the claim.
    ns.pods
        .create(
            &PostParams::default(),
            &mounting("waiting", "pending", None),
        )
        .await
        .expect("pod");
    for name in ["idle", "pending"] {
        let answer = ns
            .claims
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
        assert!(answer.is_right(), "{name}: {answer:?}");
        assert_eq!(
            status(ns.claims.get(name).await.expect_err("gone")).code,
            404
        );
    }
}

#[tokio::test]
async fn a_namespace_whose_claim_a_scheduled_pod_mounts_is_deleted_completely() {
    let server = server().await;
    let client = server.client();
    create_namespace(&client, "tenant").await;
    let ns = in_ns(&client, "tenant");
    ns.claims
        .create(&PostParams::default(), &claim("data"))
        .await
        .expect("claim");
    ns.pods
        .create(
            &PostParams::default(),
            &mounting("db", "data", Some("node-1")),
        )
        .await
        .expect("pod");
    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .delete("tenant", &DeleteParams::default())
        .await
        .expect("deleted");
    assert_eq!(
        status(namespaces.get("tenant").await.expect_err("gone")).code,
        404
    );
}
