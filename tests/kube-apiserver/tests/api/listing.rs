//! LIST: selectors, pagination and resourceVersion semantics.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, VersionMatch};
use serde_json::json;

use crate::support::*;

async fn seed(api: &Api<ConfigMap>, name: &str, labels: serde_json::Value) {
    let cm: ConfigMap =
        serde_json::from_value(json!({ "metadata": { "name": name, "labels": labels } }))
            .expect("cm");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("created");
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

#[tokio::test]
async fn label_selectors_support_equality_set_and_existence_requirements() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    seed(&api, "a", json!({ "tier": "gold", "app": "db" })).await;
    seed(&api, "b", json!({ "tier": "silver", "app": "db" })).await;
    seed(&api, "c", json!({ "tier": "bronze" })).await;
    seed(&api, "d", json!({})).await;
    let cases = [
        ("tier=gold", vec!["a"]),
        ("tier==gold", vec!["a"]),
        ("tier!=gold", vec!["b", "c", "d"]),
        ("tier in (gold,silver)", vec!["a", "b"]),
        ("tier notin (gold,silver)", vec!["c", "d"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c", "d"]),
        ("app=db,tier=silver", vec!["b"]),
    ];
    for (selector, want) in cases {
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .expect(selector);
        assert_eq!(names(&list), want, "{selector}");
    }
    let err = status(
        api.list(&ListParams::default().labels("tier in gold"))
            .await
            .expect_err("malformed"),
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
}

#[tokio::test]
async fn field_selectors_match_name_and_namespace_and_reject_other_fields() {
    let server = server().await;
    let client = server.client();
    create_namespace(&client, "other").await;
    let default: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let other: Api<ConfigMap> = Api::namespaced(client.clone(), "other");
    seed(&default, "a", json!({})).await;
    seed(&default, "b", json!({})).await;
    seed(&other, "a", json!({})).await;
    let all: Api<ConfigMap> = Api::all(client);
    let by_name = all
        .list(&ListParams::default().fields("metadata.name=a"))
        .await
        .expect("by name");
    assert_eq!(by_name.items.len(), 2);
    let by_ns = all
        .list(&ListParams::default().fields("metadata.namespace=other"))
        .await
        .expect("by namespace");
    assert_eq!(names(&by_ns), vec!["a"]);
    let not_b = default
        .list(&ListParams::default().fields("metadata.name!=b"))
        .await
        .expect("!=");
    assert_eq!(names(&not_b), vec!["a"]);
    let err = status(
        all.list(&ListParams::default().fields("data.x=1"))
            .await
            .expect_err("unsupported"),
    );
    assert_eq!(err.code, 400);
    assert!(
        err.message.contains("field label not supported"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn pagination_with_limit_and_continue_reads_every_page_at_the_first_pages_version() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for i in 0..5 {
        seed(&api, &format!("cm-{i}"), json!({})).await;
    }
    let first = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    assert_eq!(names(&first), vec!["cm-0", "cm-1"]);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().expect("continue token");
    seed(&api, "cm-2a", json!({})).await;
    let second = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        names(&second),
        vec!["cm-2", "cm-3"],
        "an object created after page 1 is not in the snapshot"
    );
    assert_eq!(
        second.metadata.resource_version,
        first.metadata.resource_version
    );
    let third = api
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(second.metadata.continue_.as_deref().expect("token")),
        )
        .await
        .expect("page 3");
    assert_eq!(names(&third), vec!["cm-4"]);
    assert!(third.metadata.continue_.as_deref().unwrap_or("").is_empty());

    server.compact();
    let err = status(
        api.list(&ListParams::default().limit(2).continue_token(&token))
            .await
            .expect_err("expired token"),
    );
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn an_exact_resource_version_list_is_served_from_history_until_it_is_compacted_then_410() {
    let server = server().await;
    // No client retries: the 504 at the end would otherwise be retried with backoff.
    let api: Api<ConfigMap> =
        Api::namespaced(server.client_with(|c| c.default_retry = false), "default");
    seed(&api, "a", json!({})).await;
    let then = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    seed(&api, "b", json!({})).await;
    api.delete("a", &Default::default()).await.expect("deleted");
    let exact = api
        .list(
            &ListParams::default()
                .at(&then)
                .matching(VersionMatch::Exact),
        )
        .await
        .expect("exact");
    assert_eq!(names(&exact), vec!["a"]);
    assert_eq!(
        exact.metadata.resource_version.as_deref(),
        Some(then.as_str())
    );
    let now = api.list(&ListParams::default()).await.expect("latest");
    assert_eq!(names(&now), vec!["b"]);
    server.compact();
    let err = status(
        api.list(
            &ListParams::default()
                .at(&then)
                .matching(VersionMatch::Exact),
        )
        .await
        .expect_err("compacted"),
    );
    // Worded as the apiserver's answer when etcd compacted the revision (a real one would
    // still serve a revision this recent from its watch cache: see the crate docs).
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
    assert_eq!(
        err.message,
        "The resourceVersion for the provided list is too old."
    );
    let future = (server.resource_version() + 100).to_string();
    let err = status(
        api.list(
            &ListParams::default()
                .at(&future)
                .matching(VersionMatch::NotOlderThan),
        )
        .await
        .expect_err("future"),
    );
    assert_eq!(err.code, 504);
}
