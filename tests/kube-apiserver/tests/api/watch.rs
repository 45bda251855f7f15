//! WATCH: resourceVersion semantics, bookmarks, 410, streaming lists, and kube's `watcher`.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube_test_apiserver::{ServerOptions, Verb};
use serde_json::json;

use crate::support::*;

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({ "metadata": { "name": name, "labels": labels }, "data": { "v": "1" } }),
    )
    .expect("cm")
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("event")
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap_or_default()),
        WatchEvent::Modified(o) => {
            format!("MODIFIED {}", o.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Deleted(o) => {
            format!("DELETED {}", o.metadata.name.clone().unwrap_or_default())
        }
        WatchEvent::Bookmark(b) => format!("BOOKMARK {}", b.metadata.resource_version),
        WatchEvent::Error(s) => format!("ERROR {}", s.code),
    }
}

#[tokio::test]
async fn a_watch_from_a_resource_version_streams_later_changes_in_order() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("before", json!({})))
        .await
        .expect("before");
    let rv = server.resource_version().to_string();
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    api.create(&PostParams::default(), &configmap("a", json!({})))
        .await
        .expect("create");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "v": "2" } })),
    )
    .await
    .expect("patch");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(seen, vec!["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn a_watch_without_a_resource_version_starts_with_the_current_objects() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("existing", json!({})))
        .await
        .expect("existing");
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED existing");
}

#[tokio::test]
async fn idle_watches_get_bookmarks_when_allowed() {
    let server =
        server_with(ServerOptions::default().with_bookmark_interval(Duration::from_millis(50)))
            .await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("x", json!({})))
        .await
        .expect("x");
    let rv = server.resource_version();
    let mut stream = api
        .watch(&WatchParams::default(), &rv.to_string())
        .await
        .expect("watch")
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Bookmark(b) => {
            assert_eq!(b.metadata.resource_version, rv.to_string());
            assert_eq!(b.types.kind, "ConfigMap");
        }
        other => panic!("expected a bookmark, got {}", describe(&other)),
    }
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_a_410_expired_error_event() {
    let server = server().await;
    server.set_event_window(2);
    let client = server.client();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..5 {
        api.create(
            &PostParams::default(),
            &configmap(&format!("c{i}"), json!({})),
        )
        .await
        .expect("created");
    }
    let mut stream = api
        .watch(&WatchParams::default(), "1")
        .await
        .expect("watch")
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(s) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"));
            assert!(
                s.message.starts_with("too old resource version: 1"),
                "{}",
                s.message
            );
        }
        other => panic!("expected ERROR 410, got {}", describe(&other)),
    }
    let r = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1",
        None,
        None,
    )
    .await;
    assert_eq!(
        r.code, 200,
        "the apiserver answers 200 and reports 410 inside the stream"
    );
    assert_eq!(r.lines()[0]["type"], "ERROR");
    assert_eq!(r.lines()[0]["object"]["code"], 410);
}

#[tokio::test]
async fn send_initial_events_streams_current_objects_then_the_initial_events_end_bookmark() {
    let server = server().await;
    let client = server.client();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for n in ["a", "b"] {
        api.create(&PostParams::default(), &configmap(n, json!({})))
            .await
            .expect("created");
    }
    let path = "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";
    let lines = raw(&client, "GET", path, None, None).await.lines();
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[1]["type"], "ADDED");
    let end = &lines[2];
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(
        end["object"]["metadata"]["resourceVersion"],
        server.resource_version().to_string()
    );
    let bad = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true",
        None,
        None,
    )
    .await;
    assert_eq!(
        bad.code, 400,
        "sendInitialEvents requires resourceVersionMatch=NotOlderThan"
    );
}

#[tokio::test]
async fn timeout_seconds_ends_the_watch_stream() {
    let server = server().await;
    let client = server.client();
    let started = std::time::Instant::now();
    let r = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=1",
        None,
        None,
    )
    .await;
    assert_eq!(r.code, 200);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_label_selected_watch_reports_an_object_leaving_the_selection_as_deleted() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let rv = server.resource_version().to_string();
    let mut stream = api
        .watch(
            &WatchParams::default().labels("app=db").disable_bookmarks(),
            &rv,
        )
        .await
        .expect("watch")
        .boxed();
    api.create(
        &PostParams::default(),
        &configmap("x", json!({ "app": "db" })),
    )
    .await
    .expect("created");
    api.create(
        &PostParams::default(),
        &configmap("y", json!({ "app": "web" })),
    )
    .await
    .expect("not selected");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "web" } } })),
    )
    .await
    .expect("relabel");
    api.patch(
        "y",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "db" } } })),
    )
    .await
    .expect("relabel");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(seen, vec!["ADDED x", "DELETED x", "ADDED y"]);
}

/// Runs kube's watcher in the background, returning the names it currently believes exist.
fn spawn_watcher(
    api: Api<ConfigMap>,
    config: watcher::Config,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Receiver<BTreeSet<String>>,
) {
    let (tx, rx) = tokio::sync::watch::channel(BTreeSet::new());
    let handle = tokio::spawn(async move {
        let mut known = BTreeSet::new();
        let mut buffer = BTreeSet::new();
        let mut stream = watcher(api, config).default_backoff().boxed();
        while let Some(event) = stream.next().await {
            // Errors (a 410, a failed re-watch) are reported and retried by the watcher.
            let Ok(event) = event else { continue };
            match event {
                watcher::Event::Init => buffer.clear(),
                watcher::Event::InitApply(o) => {
                    buffer.insert(o.metadata.name.unwrap_or_default());
                }
                watcher::Event::InitDone => known = std::mem::take(&mut buffer),
                watcher::Event::Apply(o) => {
                    known.insert(o.metadata.name.unwrap_or_default());
                }
                watcher::Event::Delete(o) => {
                    known.remove(&o.metadata.name.unwrap_or_default());
                }
            }
            let _ = tx.send(known.clone());
        }
    });
    (handle, rx)
}

async fn until_known(rx: &mut tokio::sync::watch::Receiver<BTreeSet<String>>, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|k| *k == want))
        .await
        .expect("watcher converges")
        .expect("watcher alive");
}

#[tokio::test]
async fn kubes_watcher_sees_creates_updates_deletes_and_recovers_after_dropped_watches() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("a", json!({})))
        .await
        .expect("a");
    let (handle, mut rx) = spawn_watcher(api.clone(), watcher::Config::default());
    until_known(&mut rx, &["a"]).await;
    api.create(&PostParams::default(), &configmap("b", json!({})))
        .await
        .expect("b");
    until_known(&mut rx, &["a", "b"]).await;
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete a");
    until_known(&mut rx, &["b"]).await;

    server.faults().drop_watches();
    api.create(&PostParams::default(), &configmap("c", json!({})))
        .await
        .expect("c");
    until_known(&mut rx, &["b", "c"]).await;
    let watches = server
        .requests()
        .iter()
        .filter(|r| r.verb == Verb::Watch && r.resource == "configmaps")
        .count();
    assert!(
        watches >= 2,
        "the watcher re-watched after the drop ({watches} watches)"
    );
    handle.abort();
}

#[tokio::test]
async fn kubes_watcher_relists_after_a_410_and_converges() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &configmap("a", json!({})))
        .await
        .expect("a");
    server.faults().expire_next_watch();
    let (handle, mut rx) = spawn_watcher(api.clone(), watcher::Config::default());
    until_known(&mut rx, &["a"]).await;
    api.create(&PostParams::default(), &configmap("b", json!({})))
        .await
        .expect("b");
    until_known(&mut rx, &["a", "b"]).await;
    let lists = server
        .requests()
        .iter()
        .filter(|r| r.verb == Verb::List && r.resource == "configmaps")
        .count();
    assert!(
        lists >= 2,
        "410 made the watcher list again ({lists} lists)"
    );
    handle.abort();
}

#[tokio::test]
async fn kubes_streaming_list_watcher_converges() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for n in ["a", "b", "c"] {
        api.create(&PostParams::default(), &configmap(n, json!({})))
            .await
            .expect("created");
    }
    let (handle, mut rx) = spawn_watcher(api.clone(), watcher::Config::default().streaming_lists());
    until_known(&mut rx, &["a", "b", "c"]).await;
    api.delete("b", &DeleteParams::default())
        .await
        .expect("delete");
    until_known(&mut rx, &["a", "c"]).await;
    let lists = server
        .requests()
        .iter()
        .filter(|r| r.resource == "configmaps" && r.verb == Verb::List)
        .count();
    assert_eq!(
        lists, 0,
        "a streaming-list watcher gets its initial state from the watch"
    );
    let _ = api
        .list(&ListParams::default())
        .await
        .expect("list still works");
    handle.abort();
}
