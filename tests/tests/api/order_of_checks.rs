//! Every route checks in the same order: what the request names exists (404), the caller may
//! do this (403), the body is valid (415/400/422), the platform can do it (501). A caller is
//! never told what is wrong with a body it may not send, nor what a platform cannot do to
//! something that is not there.

use pgplane_tests::{TestApp, TestClient};
use serde_json::{Value, json};

use super::fixtures::insert_cluster;
use super::spec_sweep::{self, TENANT, valid_path_value};

/// A body every route refuses (unknown field, wrong types), so a 422 would show it was read.
fn bad_body() -> Value {
    json!({"not_a_field": true, "name": 42, "max_clusters": "many"})
}

/// Sends every operation whose path has `param`, with `value(name)` for the path parameters
/// and [`bad_body`] where the spec declares a body, as `client`, and lists the answers that are
/// not `expected`.
async fn sweep(
    client: &TestClient,
    param: &str,
    only_mutations: bool,
    value: impl Fn(&str) -> String,
    expected: u16,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut sent = 0;
    for op in spec_sweep::operations() {
        if !op.path_params.iter().any(|p| p == param) || (only_mutations && !op.is_mutation()) {
            continue;
        }
        let path = op.path(&value);
        let call = client
            .send(op.method.clone(), &path, op.has_body.then(bad_body), &[])
            .await;
        sent += 1;
        if call.status != expected {
            wrong.push(format!(
                "{} {path}: {} {}",
                op.method,
                call.status,
                String::from_utf8_lossy(&call.body)
            ));
        }
    }
    assert!(sent >= 5, "only {sent} operations have `{{{param}}}`");
    wrong
}

#[tokio::test]
async fn every_operation_on_an_unknown_tenant_is_a_404_for_a_platform_admin_whatever_its_body() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let wrong = sweep(
        &app.admin(),
        "tenant",
        false,
        |p| match p {
            "tenant" => "no-such-tenant".into(),
            "extension" => "not-an-allowed-extension".into(),
            other => valid_path_value(other),
        },
        404,
    )
    .await;
    assert!(wrong.is_empty(), "not 404:\n{}", wrong.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn every_operation_on_an_unknown_cluster_is_a_404_whatever_its_body_or_path() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    for client in [app.admin(), app.member(TENANT, "viewer").await] {
        let wrong = sweep(
            &client,
            "cluster",
            false,
            |p| match p {
                "cluster" => "no-such-cluster".into(),
                "extension" => "not-an-allowed-extension".into(),
                "role" => "Not A Role".into(),
                other => valid_path_value(other),
            },
            404,
        )
        .await;
        assert!(wrong.is_empty(), "not 404:\n{}", wrong.join("\n"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_viewer_is_refused_every_change_with_403_before_its_body_is_read() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    insert_cluster(&app, TENANT, "orders", 1).await;
    let viewer = app.member(TENANT, "viewer").await;
    let wrong = sweep(
        &viewer,
        "tenant",
        true,
        |p| match p {
            "extension" => "not-an-allowed-extension".into(),
            other => valid_path_value(other),
        },
        403,
    )
    .await;
    assert!(wrong.is_empty(), "not 403:\n{}", wrong.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_developer_setting_the_quota_is_refused_403_whatever_the_body() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let developer = app.member(TENANT, "developer").await;
    let path = format!("/v1/tenants/{TENANT}/quota");
    developer
        .put(&path, json!({"max_clusters": 3}))
        .await
        .expect_problem(403, None);
    developer
        .send_raw(
            pgplane_tests::client::Method::PUT,
            &path,
            "text/plain",
            b"three".to_vec(),
        )
        .await
        .expect_problem(403, None);
    // The platform admin, who may, is told what is missing.
    app.admin()
        .put(&path, json!({"max_clusters": 3}))
        .await
        .expect_problem(422, Some("body"));
    app.stop().await;
}
