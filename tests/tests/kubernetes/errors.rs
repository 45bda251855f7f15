//! Error classification end to end: what the server answers and what the driver reports.

use std::time::Duration;

use kube_test_apiserver::FaultKind;
use pgplane::platform::kubernetes::KubernetesOptions;
use pgplane::platform::{Platform, PlatformError};

use crate::support::*;

fn transient(result: Result<(), PlatformError>) -> String {
    match result {
        Err(PlatformError::Transient(why)) => why,
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_cluster_is_rejected_with_the_servers_message_and_causes() {
    let env = Env::start().await;
    let mut s = spec("orders");
    s.postgres_version = 5;
    let err = env
        .platform
        .apply_cluster(&target(&tenant("acme"), s))
        .await
        .expect_err("the CRD schema refuses it");
    let PlatformError::Rejected(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.starts_with("422 Invalid: "), "{why}");
    assert!(why.contains("spec.postgresVersion"), "{why}");
}

#[tokio::test]
async fn injected_server_errors_and_throttling_are_transient() {
    let env = Env::start().await;
    let platform = env.platform_without_client_retries(KubernetesOptions::default());
    let acme = tenant("acme");
    platform.ensure_tenant(&acme).await.expect("tenant");
    let orders = target(&acme, spec("orders"));
    for (kind, code) in [
        (FaultKind::ServiceUnavailable, "503"),
        (FaultKind::InternalError, "500"),
        (
            FaultKind::TooManyRequests {
                retry_after_seconds: 1,
            },
            "429",
        ),
    ] {
        env.server.faults().fail_next(1, kind);
        let why = transient(platform.apply_cluster(&orders).await);
        assert!(why.starts_with(code), "{why}");
    }
    platform
        .apply_cluster(&orders)
        .await
        .expect("fine once the faults are spent");
}

#[tokio::test]
async fn a_short_burst_of_503s_is_absorbed_by_the_clients_own_retries() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    env.server
        .faults()
        .fail_next(2, FaultKind::ServiceUnavailable);
    env.platform
        .apply_cluster(&target(&acme, spec("orders")))
        .await
        .expect("retried by kube");
}

#[tokio::test]
async fn a_request_slower_than_the_request_timeout_is_transient() {
    let options = KubernetesOptions {
        request_timeout: Duration::from_millis(300),
        ..KubernetesOptions::default()
    };
    let env = Env::start().await;
    let platform = env.platform_without_client_retries(options);
    let acme = tenant("acme");
    platform.ensure_tenant(&acme).await.expect("tenant");
    env.server
        .faults()
        .fail_next(1, FaultKind::Delay(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let why = transient(platform.apply_cluster(&target(&acme, spec("orders"))).await);
    assert!(
        why.contains("apply_cluster did not finish within 300 ms"),
        "{why}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_write_conflict_is_transient() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    env.server.faults().conflict_next_writes(1);
    let why = transient(
        env.platform
            .apply_cluster(&target(&acme, spec("orders")))
            .await,
    );
    assert!(why.starts_with("409"), "{why}");
}

#[tokio::test]
async fn failures_while_ensuring_a_tenant_or_deleting_are_classified_too() {
    let env = Env::start().await;
    let platform = env.platform_without_client_retries(KubernetesOptions::default());
    let acme = tenant("acme");
    env.server
        .faults()
        .fail_next(1, FaultKind::ServiceUnavailable);
    transient(platform.ensure_tenant(&acme).await);
    platform.ensure_tenant(&acme).await.expect("tenant");
    let orders = target(&acme, spec("orders"));
    env.server.faults().fail_next(1, FaultKind::InternalError);
    let deleted = platform.delete_cluster(&orders).await;
    assert!(
        matches!(deleted, Err(PlatformError::Transient(_))),
        "{deleted:?}"
    );
}
