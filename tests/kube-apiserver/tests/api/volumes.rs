//! PersistentVolumeClaims: the generic verbs, admission, garbage collection, and the
//! simulated operator's pgBackRest repository volume `<cluster>-<repoName>`.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::{Value, json};

use crate::day2::{Env, WAIT, fast};
use crate::support::*;

const CLUSTER: &str = "postgres-operator.crunchydata.com/cluster";
const PGBACKREST: &str = "postgres-operator.crunchydata.com/pgbackrest";
const REPO: &str = "postgres-operator.crunchydata.com/pgbackrest-repo";
const VOLUME: &str = "postgres-operator.crunchydata.com/pgbackrest-volume";
const RETAINED: &str = "pgplane.io/retained";

fn claim(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": name, "labels": { "app": "test" } },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "1Gi" } }
        }
    })
}

fn typed(v: Value) -> PersistentVolumeClaim {
    serde_json::from_value(v).expect("a PersistentVolumeClaim")
}

fn labels(pvc: &PersistentVolumeClaim) -> std::collections::BTreeMap<String, String> {
    pvc.metadata.labels.clone().unwrap_or_default()
}

fn phase(pvc: &PersistentVolumeClaim) -> Option<String> {
    pvc.status.as_ref().and_then(|s| s.phase.clone())
}

#[tokio::test]
async fn claims_support_every_verb_selectors_watch_and_garbage_collection() {
    let server = server().await;
    let client = server.client();
    create_namespace(&client, "other").await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let other: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "other");

    let created = api
        .create(&PostParams::default(), &typed(claim("data")))
        .await
        .expect("created");
    assert_eq!(phase(&created).as_deref(), Some("Pending"));
    other
        .create(&PostParams::default(), &typed(claim("data")))
        .await
        .expect("created in another namespace");

    // merge, JSON and apply patches; the status subresource.
    api.patch(
        "data",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "tier": "gold" } } })),
    )
    .await
    .expect("merge patch");
    let json_patched = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/persistentvolumeclaims/data",
        Some("application/json-patch+json"),
        Some(json!([
            { "op": "add", "path": "/metadata/annotations", "value": { "note": "x" } }
        ])),
    )
    .await;
    assert_eq!(json_patched.code, 200, "{}", json_patched.body);
    api.patch(
        "data",
        &PatchParams::apply("tester"),
        &Patch::Apply(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": { "name": "data", "labels": { "applied": "yes" } },
        })),
    )
    .await
    .expect("apply patch");
    let bound = api
        .patch_status(
            "data",
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "status": { "phase": "Bound", "capacity": { "storage": "1Gi" } } }),
            ),
        )
        .await
        .expect("status patch");
    assert_eq!(phase(&bound).as_deref(), Some("Bound"));
    let l = labels(&bound);
    assert_eq!(l.get("tier").map(String::as_str), Some("gold"));
    assert_eq!(l.get("applied").map(String::as_str), Some("yes"));
    assert_eq!(
        bound.metadata.annotations.unwrap_or_default().get("note"),
        Some(&"x".to_string())
    );

    let all: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let listed = all
        .list(&ListParams::default().labels("app=test"))
        .await
        .expect("list across namespaces");
    assert_eq!(listed.items.len(), 2);
    let gold = all
        .list(&ListParams::default().labels("tier=gold"))
        .await
        .expect("list");
    assert_eq!(gold.items.len(), 1);

    // A watch sees the deletion.
    let rv = listed.metadata.resource_version.clone().expect("rv");
    let mut stream = other
        .watch(&WatchParams::default().labels("app=test"), &rv)
        .await
        .expect("watch")
        .boxed();
    other
        .delete("data", &DeleteParams::default())
        .await
        .expect("deleted");
    // As on a real cluster: marked for deletion (the pvc-protection finalizer), released by
    // the protection controller since no Pod uses it, then gone.
    let mut next = async || {
        tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("an event")
            .expect("stream open")
            .expect("event")
    };
    let event = next().await;
    assert!(
        matches!(&event, WatchEvent::Modified(p) if p.metadata.deletion_timestamp.is_some()),
        "{event:?}"
    );
    let event = next().await;
    assert!(
        matches!(&event, WatchEvent::Deleted(p) if p.metadata.name.as_deref() == Some("data")),
        "{event:?}"
    );

    // Garbage collection: a claim owned by a ConfigMap goes with it.
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owner = maps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "owner" } })).expect("cm"),
        )
        .await
        .expect("owner");
    let mut owned = claim("owned");
    owned["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
        "uid": owner.metadata.uid.expect("uid"),
    }]);
    api.create(&PostParams::default(), &typed(owned))
        .await
        .expect("owned claim");
    maps.delete("owner", &DeleteParams::default())
        .await
        .expect("owner deleted");
    assert_eq!(
        status(api.get("owned").await.expect_err("collected")).code,
        404
    );
    api.get("data").await.expect("unowned claim stays");
}

#[tokio::test]
async fn claims_without_access_modes_or_a_valid_storage_request_are_invalid() {
    let server = server().await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    let mut no_modes = claim("a");
    no_modes["spec"]["accessModes"] = json!([]);
    let mut no_storage = claim("b");
    no_storage["spec"]["resources"] = json!({});
    let mut bad_storage = claim("c");
    bad_storage["spec"]["resources"]["requests"]["storage"] = json!("lots");
    let mut zero_storage = claim("d");
    zero_storage["spec"]["resources"]["requests"]["storage"] = json!("0Gi");
    let mut no_spec = claim("e");
    no_spec["spec"] = json!({});
    for (body, fields) in [
        (no_modes, vec!["spec.accessModes"]),
        (no_storage, vec!["spec.resources[storage]"]),
        (bad_storage, vec!["spec.resources.requests[storage]"]),
        (zero_storage, vec!["spec.resources[storage]"]),
        (no_spec, vec!["spec.accessModes", "spec.resources[storage]"]),
    ] {
        let err = status(
            api.create(&PostParams::default(), &typed(body))
                .await
                .expect_err("rejected"),
        );
        assert_eq!(err.code, 422, "{err:?}");
        assert_eq!(err.reason, "Invalid");
        let causes: Vec<String> = err
            .details
            .expect("details")
            .causes
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(causes, fields, "{}", err.message);
        assert!(err.message.contains(fields[0]), "{}", err.message);
    }
}

async fn repo_claim(env: &Env, name: &str) -> PersistentVolumeClaim {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    eventually(WAIT, "the repository claim bound", || async {
        api.get(name)
            .await
            .ok()
            .filter(|p| phase(p).as_deref() == Some("Bound"))
    })
    .await
}

async fn gone(env: &Env, cluster: &str) {
    eventually(WAIT, "the cluster gone", || async {
        match env.api.get(cluster).await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
}

#[tokio::test]
async fn the_operator_creates_a_bound_repository_claim_owned_by_the_cluster() {
    let env = Env::start(fast()).await;
    let cluster = env.apply(cluster_manifest("orders")).await;
    let pvc = repo_claim(&env, "orders-repo1").await;
    let l = labels(&pvc);
    assert_eq!(l.get(CLUSTER).map(String::as_str), Some("orders"));
    assert_eq!(l.get(PGBACKREST).map(String::as_str), Some(""));
    assert_eq!(l.get(REPO).map(String::as_str), Some("repo1"));
    assert_eq!(l.get(VOLUME).map(String::as_str), Some(""));
    let owners = pvc.metadata.owner_references.clone().expect("owner");
    assert_eq!(owners.len(), 1);
    let o = &owners[0];
    assert_eq!(o.api_version, "postgres-operator.crunchydata.com/v1beta1");
    assert_eq!(o.kind, "PostgresCluster");
    assert_eq!(o.name, "orders");
    assert_eq!(Some(&o.uid), cluster.metadata.uid.as_ref());
    assert_eq!(o.controller, Some(true));
    assert_eq!(o.block_owner_deletion, Some(true));
    let spec = pvc.spec.clone().expect("spec");
    assert_eq!(spec.access_modes, Some(vec!["ReadWriteOnce".to_string()]));
    let st = pvc.status.clone().expect("status");
    assert_eq!(st.access_modes, Some(vec!["ReadWriteOnce".to_string()]));
    assert_eq!(
        st.capacity
            .expect("capacity")
            .get("storage")
            .map(|q| q.0.as_str()),
        Some("1Gi")
    );
    let managers: Vec<String> = pvc
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.iter().all(|m| m == "postgres-operator"),
        "{managers:?}"
    );

    // Deleting the cluster: the operator leaves the claim to the garbage collector.
    env.api
        .delete("orders", &DeleteParams::default())
        .await
        .expect("delete");
    gone(&env, "orders").await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    assert_eq!(
        status(api.get("orders-repo1").await.expect_err("collected")).code,
        404
    );
}

#[tokio::test]
async fn a_claim_detached_while_its_cluster_is_deleted_survives_and_is_found_by_label() {
    // Detached before the delete, PGO's next reconcile would put the ownerReference back
    // (`day2::ownership`); once the cluster is being deleted PGO applies nothing more.
    let env = Env::start(fast().deleting_after(std::time::Duration::from_millis(600))).await;
    env.apply(cluster_manifest("orders")).await;
    repo_claim(&env, "orders-repo1").await;
    env.api
        .delete("orders", &DeleteParams::default())
        .await
        .expect("delete");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    let detached = api
        .patch(
            "orders-repo1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": {
                "ownerReferences": null,
                "labels": { RETAINED: "true" },
                "annotations": { "pgplane.io/retain-until": "2026-12-09T00:00:00Z" },
            } })),
        )
        .await
        .expect("detached");
    assert!(detached.metadata.owner_references.is_none());
    gone(&env, "orders").await;
    // Past the operator's deletion and the garbage collector, the claim is still there.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let kept = api.get("orders-repo1").await.expect("survives");
    assert_eq!(phase(&kept).as_deref(), Some("Bound"));

    let all: Api<PersistentVolumeClaim> = Api::all(env.server.client());
    let retained = all
        .list(&ListParams::default().labels(&format!("{RETAINED}=true")))
        .await
        .expect("list");
    let names: Vec<_> = retained
        .items
        .iter()
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![("default".to_string(), "orders-repo1".to_string())]
    );
    api.delete("orders-repo1", &DeleteParams::default())
        .await
        .expect("deleted");
    assert_eq!(
        status(api.get("orders-repo1").await.expect_err("gone")).code,
        404
    );
}

#[tokio::test]
async fn no_claim_without_a_volume_repository() {
    let env = Env::start(fast()).await;
    let mut m = cluster_manifest("plain");
    m["spec"].as_object_mut().expect("spec").remove("backups");
    env.apply(m).await;
    env.until("plain", "observed", |s| s["observedGeneration"] == 1)
        .await;
    // The children are applied before the status is written. (The instance's data volume
    // claim is there; no repository claim is.)
    let all: Api<PersistentVolumeClaim> = Api::all(env.server.client());
    let claims = all.list(&ListParams::default()).await.expect("list");
    let names: Vec<_> = claims
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert!(
        names.len() == 1 && names[0].ends_with("-pgdata"),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_repo_dropped_from_the_spec_loses_its_claim() {
    let env = Env::start(fast()).await;
    let one = cluster_manifest("orders");
    let mut two = one.clone();
    let mut repo2 = two["spec"]["backups"]["pgbackrest"]["repos"][0].clone();
    repo2["name"] = json!("repo2");
    repo2["volume"]["volumeClaimSpec"]["resources"]["requests"]["storage"] = json!("2Gi");
    two["spec"]["backups"]["pgbackrest"]["repos"]
        .as_array_mut()
        .expect("repos")
        .push(repo2);
    env.apply(two).await;
    let second = repo_claim(&env, "orders-repo2").await;
    assert_eq!(labels(&second).get(REPO).map(String::as_str), Some("repo2"));
    assert_eq!(
        second
            .status
            .and_then(|s| s.capacity)
            .and_then(|c| c.get("storage").map(|q| q.0.clone())),
        Some("2Gi".to_string())
    );
    env.apply(one).await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    eventually(WAIT, "orders-repo2 deleted", || async {
        match api.get("orders-repo2").await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
    api.get("orders-repo1")
        .await
        .expect("repo1 keeps its claim");
}

#[tokio::test]
async fn removed_backups_keep_the_claim_unless_removal_is_authorized() {
    let env = Env::start(fast()).await;
    env.apply(cluster_manifest("orders")).await;
    repo_claim(&env, "orders-repo1").await;
    let mut m = cluster_manifest("orders");
    m["spec"].as_object_mut().expect("spec").remove("backups");
    env.apply(m).await;
    env.until("orders", "observed", |s| s["observedGeneration"] == 2)
        .await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    api.get("orders-repo1")
        .await
        .expect("kept without authorizeBackupRemoval");

    env.merge(
        "orders",
        json!({ "metadata": { "annotations": {
            "postgres-operator.crunchydata.com/authorizeBackupRemoval": "true"
        } } }),
    )
    .await;
    eventually(WAIT, "the claim deleted", || async {
        match api.get("orders-repo1").await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
}

/// `DefaultStorageClass` and `PersistentVolumeClaimResize`, as a default kube-apiserver admits
/// claims (the real-apiserver tier checks the refusal's message against the real one).
#[tokio::test]
async fn claims_get_the_default_class_and_grow_only_when_bound_on_a_class_that_can_expand() {
    use k8s_openapi::api::storage::v1::StorageClass;
    let server = server().await;
    let classes: Api<StorageClass> = Api::all(server.client());
    for (name, default, expandable) in [("standard", true, false), ("fast", false, true)] {
        let class: StorageClass = serde_json::from_value(json!({
            "metadata": { "name": name, "annotations": {
                "storageclass.kubernetes.io/is-default-class": default.to_string() } },
            "provisioner": "csi.example.com",
            "allowVolumeExpansion": expandable,
        }))
        .expect("a StorageClass");
        classes
            .create(&PostParams::default(), &class)
            .await
            .expect("class created");
    }
    let api: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    let plain = api
        .create(&PostParams::default(), &typed(claim("plain")))
        .await
        .expect("created");
    let class = plain
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone());
    assert_eq!(class.as_deref(), Some("standard"), "the default class");
    let mut fast = claim("quick");
    fast["spec"]["storageClassName"] = json!("fast");
    api.create(&PostParams::default(), &typed(fast))
        .await
        .expect("created");

    let grow = |size: &str| {
        Patch::Merge(json!({ "spec": { "resources": { "requests": { "storage": size } } } }))
    };
    let pending = status(
        api.patch("quick", &PatchParams::default(), &grow("2Gi"))
            .await
            .expect_err("not bound"),
    );
    assert_eq!(pending.code, 403);
    assert!(
        pending
            .message
            .ends_with("Only bound persistent volume claims can be expanded"),
        "{}",
        pending.message
    );
    let bound =
        Patch::Merge(json!({ "status": { "phase": "Bound", "capacity": { "storage": "1Gi" } } }));
    for name in ["plain", "quick"] {
        api.patch_status(name, &PatchParams::default(), &bound)
            .await
            .expect("bound");
    }
    let refused = status(
        api.patch("plain", &PatchParams::default(), &grow("2Gi"))
            .await
            .expect_err("standard cannot expand"),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        refused.message,
        "persistentvolumeclaims \"plain\" is forbidden: only dynamically provisioned pvc can be \
         resized and the storageclass that provisions the pvc must support resize"
    );
    let grown = api
        .patch("quick", &PatchParams::default(), &grow("2Gi"))
        .await
        .expect("fast can expand");
    let requested = grown
        .spec
        .and_then(|s| s.resources?.requests?.remove("storage"));
    assert_eq!(requested.map(|q| q.0).as_deref(), Some("2Gi"));
    // Keeping or lowering the request is no expansion.
    api.patch("plain", &PatchParams::default(), &grow("1Gi"))
        .await
        .expect("same size");
}
