//! Deletion: finalizers, namespace termination, garbage collection of owned objects.

use either::Either;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn deleting_an_object_with_finalizers_marks_it_and_removing_the_last_finalizer_deletes_it() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let mut m = cluster_manifest("hippo");
    m["metadata"]["finalizers"] = json!(["example.com/hold"]);
    api.create(&PostParams::default(), &dynamic(m))
        .await
        .expect("created");

    let pending = match api
        .delete("hippo", &DeleteParams::default())
        .await
        .expect("delete accepted")
    {
        Either::Left(object) => object,
        Either::Right(status) => panic!("expected the object back, got {status:?}"),
    };
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert_eq!(
        pending.metadata.generation,
        Some(2),
        "setting deletionTimestamp bumps generation"
    );
    let still = api.get("hippo").await.expect("still there");
    assert!(still.metadata.deletion_timestamp.is_some());

    let err = status(
        api.patch(
            "hippo",
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "metadata": { "finalizers": ["example.com/hold", "example.com/more"] } }),
            ),
        )
        .await
        .expect_err("no new finalizers while deleting"),
    );
    assert_eq!(err.code, 422);

    api.patch(
        "hippo",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": null } })),
    )
    .await
    .expect("finalizer removed");
    assert_eq!(status(api.get("hippo").await.expect_err("gone")).code, 404);
}

/// As Kubernetes 1.36 answers: a deletion waiting for finalizers is a 200 with the marked
/// object, and the update that removes the last finalizer deletes the stored object instead of
/// storing the update, so a watcher sees only DELETED, still carrying the finalizer.
#[tokio::test]
async fn the_update_emptying_the_finalizers_of_an_object_being_deleted_is_seen_only_as_deleted() {
    let server = server().await;
    let client = server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let held = json!({ "metadata": { "name": "held", "finalizers": ["example.com/hold"] } });
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(held).expect("cm"),
    )
    .await
    .expect("created");
    let r = raw(
        &client,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/held",
        None,
        None,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let marked = r.json();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    let rv = marked["metadata"]["resourceVersion"].as_str().expect("rv");

    let mut events = cms
        .watch(&WatchParams::default(), rv)
        .await
        .expect("watch")
        .boxed();
    let released = cms
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "finalizers": null } })),
        )
        .await
        .expect("finalizer removed");
    assert_eq!(released.metadata.finalizers, None);
    assert_eq!(released.metadata.resource_version.as_deref(), Some(rv));
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.next())
        .await
        .expect("an event")
        .expect("stream open")
        .expect("event");
    let WatchEvent::Deleted(last) = event else {
        panic!("expected DELETED first, got {event:?}")
    };
    assert_eq!(
        last.metadata.finalizers,
        Some(vec!["example.com/hold".to_string()])
    );
}

#[tokio::test]
async fn deleting_a_built_in_object_returns_a_success_status() {
    let server = server().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": "c" } })).expect("cm"),
    )
    .await
    .expect("created");
    match cms
        .delete("c", &DeleteParams::background())
        .await
        .expect("deleted")
    {
        Either::Right(s) => assert_eq!(s.details.expect("details").name, "c"),
        Either::Left(o) => panic!("expected Status, got {o:?}"),
    }
    let err = status(
        cms.delete("c", &DeleteParams::default())
            .await
            .expect_err("already gone"),
    );
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let server = server().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": "c" } })).expect("cm"),
    )
    .await
    .expect("created");
    let stale = DeleteParams::default().preconditions(kube::api::Preconditions {
        resource_version: Some("1".into()),
        uid: None,
    });
    let err = status(
        cms.delete("c", &stale)
            .await
            .expect_err("stale precondition"),
    );
    assert_eq!(err.code, 409);
}

#[tokio::test]
async fn deleting_an_owner_deletes_its_dependents_unless_orphaned() {
    let server = server().await;
    let client = server.client();
    let api = clusters(client.clone(), "default");
    let owner = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("owner");
    let uid = owner.metadata.uid.clone().expect("uid");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let owned = |name: &str| -> Secret {
        serde_json::from_value(json!({ "metadata": { "name": name, "ownerReferences": [{
            "apiVersion": "postgres-operator.crunchydata.com/v1beta1", "kind": "PostgresCluster",
            "name": "hippo", "uid": uid, "controller": true, "blockOwnerDeletion": true
        }] } }))
        .expect("secret")
    };
    secrets
        .create(&PostParams::default(), &owned("hippo-child"))
        .await
        .expect("child");
    api.delete("hippo", &DeleteParams::background())
        .await
        .expect("owner deleted");
    assert_eq!(
        status(secrets.get("hippo-child").await.expect_err("collected")).code,
        404
    );

    let owner = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("owner again");
    let uid2 = owner.metadata.uid.clone().expect("uid");
    let mut child = owned("kept-child");
    if let Some(refs) = child.metadata.owner_references.as_mut() {
        refs[0].uid = uid2;
    }
    secrets
        .create(&PostParams::default(), &child)
        .await
        .expect("child");
    api.delete("hippo", &DeleteParams::orphan())
        .await
        .expect("orphaning delete");
    let kept = secrets.get("kept-child").await.expect("orphan survives");
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_a_namespace_removes_its_objects_and_waits_for_finalizers() {
    let server = server().await;
    let client = server.client();
    create_namespace(&client, "tenant").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "tenant");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": "c" } })).expect("cm"),
    )
    .await
    .expect("cm");
    let pcs = clusters(client.clone(), "tenant");
    let mut m = cluster_manifest("hippo");
    m["metadata"]["finalizers"] = json!(["example.com/hold"]);
    pcs.create(&PostParams::default(), &dynamic(m))
        .await
        .expect("held cluster");

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("tenant", &DeleteParams::default())
        .await
        .expect("namespace delete accepted");
    let terminating = namespaces.get("tenant").await.expect("still terminating");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert_eq!(
        status(cms.get("c").await.expect_err("contents deleted")).code,
        404
    );
    assert!(
        pcs.get("hippo")
            .await
            .expect("held by its finalizer")
            .metadata
            .deletion_timestamp
            .is_some()
    );

    let err = status(
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "new" } })).expect("cm"),
        )
        .await
        .expect_err("terminating"),
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));

    pcs.patch(
        "hippo",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": [] } })),
    )
    .await
    .expect("release");
    assert_eq!(
        status(namespaces.get("tenant").await.expect_err("namespace gone")).code,
        404
    );
}

#[tokio::test]
async fn delete_collection_deletes_the_selected_objects() {
    let server = server().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for (name, app) in [("a", "db"), ("b", "db"), ("c", "web")] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({ "metadata": { "name": name, "labels": { "app": app } } }),
            )
            .expect("cm"),
        )
        .await
        .expect("cm");
    }
    cms.delete_collection(
        &DeleteParams::default(),
        &kube::api::ListParams::default().labels("app=db"),
    )
    .await
    .expect("deletecollection");
    let left: Vec<String> = cms
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(left, vec!["c"]);
}
