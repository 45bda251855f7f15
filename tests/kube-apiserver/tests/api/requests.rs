//! The request log, RBAC derivation, and fault injection.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_test_apiserver::{FaultKind, FaultTarget, RequestRecord, ServerOptions, Verb, rbac_rules};
use serde_json::json;

use crate::support::*;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({ "metadata": { "name": name } })).expect("cm")
}

fn no_retry(server: &kube_test_apiserver::TestApiServer) -> kube::Client {
    server.client_with(|c| c.default_retry = false)
}

#[tokio::test]
async fn every_request_is_logged_with_its_authorization_attributes_and_code() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    api.patch(
        "hippo",
        &PatchParams::apply("pgplane"),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("apply");
    api.get("hippo").await.expect("get");
    let _ = api.get("missing").await;
    api.patch_status(
        "hippo",
        &PatchParams::apply("pgplane"),
        &Patch::Apply(json!({
            "apiVersion": "postgres-operator.crunchydata.com/v1beta1", "kind": "PostgresCluster",
            "metadata": { "name": "hippo" }, "status": { "observedGeneration": 1 }
        })),
    )
    .await
    .expect("status apply");
    api.list(&Default::default()).await.expect("list");

    let log: Vec<RequestRecord> = server.requests();
    let summary: Vec<(Verb, Option<&str>, Option<&str>, u16)> = log
        .iter()
        .map(|r| (r.verb, r.subresource.as_deref(), r.name.as_deref(), r.code))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Verb::Patch, None, Some("hippo"), 201),
            (Verb::Get, None, Some("hippo"), 200),
            (Verb::Get, None, Some("missing"), 404),
            (Verb::Patch, Some("status"), Some("hippo"), 200),
            (Verb::List, None, None, 200),
        ]
    );
    let first = &log[0];
    assert_eq!(first.group, "postgres-operator.crunchydata.com");
    assert_eq!(first.resource, "postgresclusters");
    assert_eq!(first.namespace.as_deref(), Some("default"));
    assert_eq!(first.field_manager.as_deref(), Some("pgplane"));
}

#[tokio::test]
async fn rbac_rules_condense_the_log_into_least_privilege_rules() {
    let server = server().await;
    let client = server.client();
    let api = clusters(client.clone(), "default");
    api.patch(
        "hippo",
        &PatchParams::apply("pgplane"),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("apply");
    api.get_status("hippo").await.expect("status");
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &cm("c"))
        .await
        .expect("cm");
    let rules = rbac_rules(&server.requests());
    let rendered: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}",
                r.api_group,
                r.resource,
                r.verbs.iter().copied().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    assert_eq!(
        rendered,
        vec![
            "|configmaps|create",
            // the apply created hippo: authorized as patch and create
            "postgres-operator.crunchydata.com|postgresclusters|create,patch",
            "postgres-operator.crunchydata.com|postgresclusters/status|get"
        ]
    );
}

#[tokio::test]
async fn injected_errors_are_status_objects_and_429_carries_retry_after() {
    let server = server().await;
    let client = no_retry(&server);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    server.faults().fail_next(1, FaultKind::InternalError);
    assert_eq!(
        status(api.list(&Default::default()).await.expect_err("500")).code,
        500
    );
    server.faults().fail_next(1, FaultKind::ServiceUnavailable);
    assert_eq!(
        status(api.list(&Default::default()).await.expect_err("503")).code,
        503
    );
    server.faults().fail_next(
        1,
        FaultKind::TooManyRequests {
            retry_after_seconds: 3,
        },
    );
    let r = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        None,
        None,
    )
    .await;
    assert_eq!(r.code, 429);
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("3")
    );
    assert_eq!(r.json()["details"]["retryAfterSeconds"], 3);
    api.list(&Default::default()).await.expect("faults used up");
    let codes: Vec<u16> = server.requests().iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        vec![500, 503, 429, 200],
        "faulted requests are logged with their code"
    );
}

#[tokio::test]
async fn kubes_default_retries_ride_out_transient_503s() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    server.faults().fail_next(1, FaultKind::ServiceUnavailable);
    api.list(&Default::default()).await.expect("retried");
    assert_eq!(
        server.requests().iter().map(|r| r.code).collect::<Vec<_>>(),
        vec![503, 200]
    );
}

#[tokio::test]
async fn the_error_rate_is_deterministic_for_a_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let server = server_with(ServerOptions::default().with_fault_seed(seed)).await;
        server
            .faults()
            .set_error_rate(0.5, FaultKind::InternalError);
        let api: Api<ConfigMap> = Api::namespaced(no_retry(&server), "default");
        for _ in 0..20 {
            let _ = api.list(&Default::default()).await;
        }
        server.requests().iter().map(|r| r.code).collect()
    }
    let a = run(7).await;
    assert_eq!(a, run(7).await);
    let failures = a.iter().filter(|c| **c == 500).count();
    assert!((3..=17).contains(&failures), "about half fail: {a:?}");
}

#[tokio::test]
async fn a_delay_longer_than_the_client_timeout_is_a_timeout() {
    let server = server().await;
    let client = server.client_with(|c| {
        c.read_timeout = Some(Duration::from_millis(200));
        c.default_retry = false;
    });
    server
        .faults()
        .fail_next(1, FaultKind::Delay(Duration::from_millis(600)));
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let err = api.list(&Default::default()).await.expect_err("timed out");
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a transport timeout, not an API status: {err:?}"
    );
    api.list(&Default::default())
        .await
        .expect("next request is fine");
}

#[tokio::test]
async fn forced_conflicts_hit_updates_and_patches_only_for_selected_requests() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(no_retry(&server), "default");
    api.create(&PostParams::default(), &cm("c"))
        .await
        .expect("create is not a conflict target");
    server.faults().set_target(FaultTarget {
        resources: Some(vec!["configmaps".into()]),
        ..Default::default()
    });
    server.faults().conflict_next_writes(1);
    let err = status(
        api.patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "a": "1" } })),
        )
        .await
        .expect_err("conflict"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    api.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "a": "1" } })),
    )
    .await
    .expect("then fine");
}

#[tokio::test]
async fn added_latency_slows_selected_requests() {
    let server = server().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    server.faults().set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    api.list(&Default::default()).await.expect("slow list");
    assert!(started.elapsed() >= Duration::from_millis(150));
    server.faults().reset();
    let started = std::time::Instant::now();
    api.list(&Default::default()).await.expect("fast list");
    assert!(started.elapsed() < Duration::from_millis(150));
}
