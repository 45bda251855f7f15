//! Watches on the real apiserver: a streaming list ends its initial events with the
//! `k8s.io/initial-events-end` bookmark; a watch from a resourceVersion older than the watch
//! cache gets a 410 Expired `ERROR` event; a list at a resourceVersion etcd compacted gets 410
//! Expired unless the watch cache still holds it; and the driver's watch
//! (`kube::runtime::watcher`) relists and resyncs when a change of the PGO CRD (as a PGO
//! upgrade makes) restarts its watch and the resumed watch gets 410.
//!
//! Periodic bookmarks on an idle watch are not checked: the apiserver sends them about once a
//! minute (the in-process server every second, configurable).

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, VersionMatch, WatchParams};
use kube::core::WatchEvent;
use pgplane::platform::Platform;
use pgplane::platform::kubernetes::postgrescluster;
use pgplane_tests::envtest::Options;
use serde_json::json;

use crate::support::*;

fn tenant_selector(tenant: &pgplane::platform::TenantTarget) -> String {
    format!("pgplane.io/tenant={}", tenant.tenant_name)
}

#[tokio::test]
async fn a_streaming_list_sends_the_objects_then_a_bookmark_marking_the_end_of_them() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("streaming");
    ensure_counted(&env, &acme).await;
    for name in ["first", "second"] {
        let t = target(&acme, spec(name));
        env.platform.apply_cluster(&t).await.expect("applied");
    }
    let api: Api<DynamicObject> = Api::all_with(plane.client(), &postgrescluster());
    let params = WatchParams::streaming_lists().labels(&tenant_selector(&acme));
    // No resourceVersion: the initial events are at least as new as a quorum read (from "0"
    // the watch cache may not have seen the second apply yet).
    let mut events = api.watch(&params, "").await.expect("watch").boxed();
    let mut added = Vec::new();
    let bookmark = loop {
        let next = tokio::time::timeout(WAIT, events.try_next())
            .await
            .expect("an event in time")
            .expect("no stream error")
            .expect("the stream goes on");
        match next {
            WatchEvent::Added(o) => added.push(o.metadata.name.unwrap_or_default()),
            WatchEvent::Bookmark(b) => break b,
            other => panic!("unexpected before the bookmark: {other:?}"),
        }
    };
    added.sort();
    assert_eq!(added, ["first", "second"]);
    assert_eq!(
        bookmark
            .metadata
            .annotations
            .get("k8s.io/initial-events-end"),
        Some(&"true".to_string())
    );
    assert!(!bookmark.metadata.resource_version.is_empty());
}

#[tokio::test]
async fn a_watch_from_a_resource_version_older_than_the_watch_cache_gets_410_expired() {
    let plane = plane_or_skip!();
    let api: Api<DynamicObject> = Api::all_with(plane.client(), &postgrescluster());
    let mut events = api
        .watch(&WatchParams::default(), "1")
        .await
        .expect("the watch itself is accepted")
        .boxed();
    let first = tokio::time::timeout(WAIT, events.try_next())
        .await
        .expect("an event in time")
        .expect("no stream error")
        .expect("an event");
    let WatchEvent::Error(status) = first else {
        panic!("expected an ERROR event, got {first:?}")
    };
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert!(
        status.message.starts_with("too old resource version: 1 ("),
        "{}",
        status.message
    );
}

/// An exact list older than the watch cache goes to etcd, which refuses a compacted revision;
/// a recent one is served from the watch cache's snapshots even after etcd compacted it (the
/// in-process server's `compact` makes every older read 410).
#[tokio::test]
async fn a_list_at_a_resource_version_etcd_compacted_gets_410_expired_unless_the_watch_cache_has_it()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("compacted");
    ensure_counted(&env, &acme).await;
    let api: Api<DynamicObject> = Api::all_with(plane.client(), &postgrescluster());
    let exact = |rv: &str| {
        ListParams::default()
            .labels(&tenant_selector(&acme))
            .at(rv)
            .matching(VersionMatch::Exact)
    };
    // A revision from before the PGO CRDs existed (the `default` namespace's creation), and a
    // recent one.
    let old = Api::<Namespace>::all(plane.client())
        .get("default")
        .await
        .expect("default")
        .metadata
        .resource_version
        .expect("resourceVersion");
    let recent = api
        .list(&ListParams::default().labels(&tenant_selector(&acme)))
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("a list resourceVersion");
    api.list(&exact(&old))
        .await
        .expect("etcd still has the old revision");
    api.list(&exact(&recent)).await.expect("a recent revision");
    // A write after `recent`, so compacting at the current revision removes both.
    let t = target(&acme, spec("later"));
    env.platform.apply_cluster(&t).await.expect("applied");

    let compacted = plane.compact().await.expect("etcd compaction");
    assert!(compacted > recent.parse::<i64>().expect("numeric resourceVersion"));
    let refused = api_status(api.list(&exact(&old)).await);
    assert_eq!((refused.code, refused.reason.as_str()), (410, "Expired"));
    assert_eq!(
        refused.message,
        "The resourceVersion for the provided list is too old."
    );
    api.list(&exact(&recent))
        .await
        .expect("the watch cache still serves a recent revision");
}

/// Adds a printer column to the served v1beta1 version: a spec change of the CRD, after which
/// the apiserver serves PostgresClusters from new storage and ends the open watches.
async fn change_the_crd(plane: &pgplane_tests::envtest::ControlPlane) {
    let crds: Api<CustomResourceDefinition> = Api::all(plane.client());
    let name = "postgresclusters.postgres-operator.crunchydata.com";
    let crd = crds.get(name).await.expect("crd");
    let (index, version) = crd
        .spec
        .versions
        .iter()
        .enumerate()
        .find(|(_, v)| v.name == "v1beta1")
        .expect("v1beta1");
    let mut columns = serde_json::to_value(&version.additional_printer_columns)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    columns.push(json!({
        "name": pgplane_tests::envtest::unique_name("envtest"),
        "type": "string",
        "jsonPath": ".metadata.name",
        "priority": 1,
    }));
    let patch = json!([{
        "op": "add",
        "path": format!("/spec/versions/{index}/additionalPrinterColumns"),
        "value": columns,
    }]);
    let patch: json_patch::Patch = serde_json::from_value(patch).expect("json patch");
    crds.patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .expect("CRD changed");
}

/// A change of the CRD makes the apiserver serve PostgresClusters from new storage whose
/// watch cache starts at the current revision, and end the open watches. The watcher resumes
/// from the last resourceVersion it saw: older than the new cache, that is a 410 and a relist
/// (a resync); had it seen an event written after the change (the old watch delivers them
/// until it ends), the resume would succeed without one. So this runs on a control plane of
/// its own, where nothing else writes PostgresClusters (and the CRD change disturbs no other
/// test).
#[tokio::test]
async fn the_drivers_watch_relists_and_resyncs_when_a_crd_change_restarts_it() {
    let Some(plane) = own_plane(Options::default()).await else {
        return;
    };
    let env = Env::on(&plane);
    let acme = tenant("restart");
    ensure_counted(&env, &acme).await;
    let mut watch = env.watch();
    watch.resynced().await;
    let first = target(&acme, spec("first"));
    env.platform.apply_cluster(&first).await.expect("applied");
    watch.observed(first.cluster_id, "first", |_| true).await;

    change_the_crd(&plane).await;
    watch.resynced().await;
    let second = target(&acme, spec("second"));
    apply_until_admitted(&env, &second).await;
    watch
        .observed(second.cluster_id, "second, after the relist", |_| true)
        .await;
}
