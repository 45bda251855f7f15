//! `watch`: observations with status and connection facts, `Gone`, `Resynced`, and recovery
//! from dropped streams and 410 Expired.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube_test_apiserver::operator::Scenario;
use kube_test_apiserver::{FaultTarget, Verb};
use pgplane::domain::cluster::{Phase, observe};
use pgplane::platform::{Endpoint, Platform, PlatformEvent};

use crate::support::*;

async fn secret_data(env: &Env, namespace: &str, name: &str) -> BTreeMap<String, String> {
    let secret = Api::<Secret>::namespaced(env.server.client(), namespace)
        .get(name)
        .await
        .expect("secret");
    secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).to_string()))
        .collect()
}

#[tokio::test]
async fn the_watch_resyncs_then_reports_a_ready_cluster_with_its_connection_facts() {
    let env = Env::start().await;
    let mut watch = env.watch();
    assert!(
        matches!(watch.next().await, PlatformEvent::Resynced),
        "an empty platform resyncs at once"
    );

    let acme = tenant("acme");
    let mut s = spec("orders");
    s.instances = 2;
    s.pooler.enabled = true;
    let orders = target(&acme, s.clone());
    env.platform.apply_cluster(&orders).await.expect("applied");

    let ready = watch
        .observed(
            orders.cluster_id,
            "a ready cluster with every connection fact",
            |o| {
                o.caught_up
                    && o.report.instances.ready == 2
                    && o.connection.primary.is_some()
                    && o.connection.pooler.is_some()
                    && o.connection.replicas.is_some()
                    && o.connection.ca_certificate.is_some()
            },
        )
        .await;
    assert_eq!(ready.tenant_id, acme.tenant_id);
    assert_eq!(ready.applied_generation, Some(1));
    assert!(!ready.deleting);
    let observed_generation = ready.report.observed_generation;
    let phase = observe(&ready.report, observed_generation.unwrap_or(0), &s, false).phase;
    assert_eq!(phase, Phase::Ready);

    let secret = secret_data(&env, "pgplane-acme", "orders-pguser-orders").await;
    let c = &ready.connection;
    let at = |host: &str| {
        Some(Endpoint {
            host: host.into(),
            port: 5432,
        })
    };
    assert_eq!(c.primary, at("orders-primary.pgplane-acme.svc"));
    assert_eq!(c.replicas, at("orders-replicas.pgplane-acme.svc"));
    assert_eq!(c.pooler, at("orders-pgbouncer.pgplane-acme.svc"));
    assert_eq!(c.user.as_deref(), Some("orders"));
    assert_eq!(c.database.as_deref(), Some("orders"));
    assert_eq!(c.password.as_deref(), Some(secret["password"].as_str()));
    assert!(
        c.ca_certificate
            .as_deref()
            .is_some_and(|ca| ca.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    watch.stop().await.expect("stops cleanly");
}

#[tokio::test]
async fn a_cluster_that_exists_before_the_watch_is_reported_before_resynced() {
    let env = Env::start().await;
    let orders = target(&tenant("acme"), spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    eventually(WAIT, "the user secret", || async {
        Api::<Secret>::namespaced(env.server.client(), "pgplane-acme")
            .get_opt("orders-pguser-orders")
            .await
            .ok()
            .flatten()
    })
    .await;
    let mut watch = env.watch();
    let first = watch.next().await;
    let PlatformEvent::Observed(o) = first else {
        panic!("{first:?}")
    };
    assert_eq!(o.cluster_id, orders.cluster_id);
    assert!(
        o.connection.password.is_some(),
        "the child caches are filled before clusters are reported"
    );
    watch.resynced().await;
}

#[tokio::test]
async fn a_deleted_cluster_is_reported_deleting_and_then_gone() {
    let env =
        Env::with_scenario(Scenario::healthy().deleting_after(Duration::from_millis(200))).await;
    let mut watch = env.watch();
    watch.resynced().await;
    let orders = target(&tenant("acme"), spec_deleting_backups("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    watch
        .observed(orders.cluster_id, "caught up", |o| o.caught_up)
        .await;

    env.platform.delete_cluster(&orders).await.expect("delete");
    watch
        .observed(orders.cluster_id, "deleting", |o| o.deleting)
        .await;
    let gone = watch
        .until("Gone", |e| match e {
            PlatformEvent::Gone {
                cluster_id,
                tenant_id,
            } => Some((*cluster_id, *tenant_id)),
            _ => None,
        })
        .await;
    assert_eq!(gone, (orders.cluster_id, orders.tenant.tenant_id));
}

#[tokio::test]
async fn a_rotated_password_is_reported_without_a_change_to_the_cluster() {
    let env = Env::start().await;
    let mut watch = env.watch();
    watch.resynced().await;
    let orders = target(&tenant("acme"), spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    watch
        .observed(orders.cluster_id, "a password", |o| {
            o.connection.password.is_some()
        })
        .await;

    let secrets = Api::<Secret>::namespaced(env.server.client(), "pgplane-acme");
    let rotated = Secret {
        data: Some(BTreeMap::from([(
            "password".to_string(),
            ByteString(b"rotated".to_vec()),
        )])),
        ..Secret::default()
    };
    let mut body = serde_json::to_value(rotated).expect("json");
    body["metadata"] = serde_json::json!({ "name": "orders-pguser-orders" });
    secrets
        .patch(
            "orders-pguser-orders",
            &PatchParams::apply("rotation-test").force(),
            &Patch::Apply(body),
        )
        .await
        .expect("rotated");
    watch
        .observed(orders.cluster_id, "the rotated password", |o| {
            o.connection.password.as_deref() == Some("rotated")
        })
        .await;
}

#[tokio::test]
async fn the_watch_recovers_after_its_streams_are_dropped() {
    let env = Env::start().await;
    let mut watch = env.watch();
    watch.resynced().await;
    let acme = tenant("acme");
    let first = target(&acme, spec("first"));
    env.platform.apply_cluster(&first).await.expect("applied");
    watch.observed(first.cluster_id, "first", |_| true).await;

    env.server.faults().drop_watches();
    let second = target(&acme, spec("second"));
    env.platform.apply_cluster(&second).await.expect("applied");
    watch
        .observed(second.cluster_id, "second, after the drop", |_| true)
        .await;
}

#[tokio::test]
async fn the_watch_relists_and_resyncs_after_a_410_expired() {
    let env = Env::start().await;
    let mut watch = env.watch();
    watch.resynced().await;
    let acme = tenant("acme");
    let first = target(&acme, spec("first"));
    env.platform.apply_cluster(&first).await.expect("applied");
    watch
        .observed(first.cluster_id, "first", |o| o.caught_up)
        .await;

    // The next cluster watch gets 410 Expired: drop the streams so the watcher re-watches.
    env.server.faults().set_target(FaultTarget {
        verbs: Some(vec![Verb::Watch]),
        resources: Some(vec!["postgresclusters".into()]),
        include_operator: false,
    });
    env.server.faults().expire_next_watch();
    env.server.compact();
    env.server.faults().drop_watches();
    watch.resynced().await;

    let second = target(&acme, spec("second"));
    env.platform.apply_cluster(&second).await.expect("applied");
    watch
        .observed(second.cluster_id, "second, after the relist", |_| true)
        .await;
    let lists = env
        .driver_requests()
        .into_iter()
        .filter(|r| r.verb == Verb::List && r.resource == "postgresclusters")
        .count();
    assert!(lists >= 2, "the watcher relisted ({lists} lists)");
}

#[tokio::test]
async fn the_watch_ends_when_cancelled_and_when_nobody_listens() {
    let env = Env::start().await;
    let mut watch = env.watch();
    watch.resynced().await;
    watch.stop().await.expect("cancelled cleanly");

    let mut watch = env.watch();
    watch.events.close();
    let result = tokio::time::timeout(WAIT, watch.task.take().expect("task")).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
