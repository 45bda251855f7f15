//! Issue 17, defect 3 for parameters: a change PostgreSQL applies only on a restart is done
//! when the instances restarted. PGO reports the new generation first; Patroni flags the
//! restart (`pending_restart`) up to a `loop_wait` later, the primary one later still, and
//! PGO's `handlePatroniRestarts` restarts them. The update must not end in between.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube_test_apiserver::operator::Scenario;
use pgplane::platform::kubernetes::KubernetesOptions;
use serde_json::json;

use crate::day2::ready_cluster;
use crate::harness::{World, options};

const LOOP_WAIT: Duration = Duration::from_millis(600);

/// Whether any instance Pod of the cluster carries Patroni's `pending_restart`.
async fn restart_pending(pods: &Api<Pod>) -> bool {
    let selector = "postgres-operator.crunchydata.com/cluster=orders,postgres-operator.crunchydata.com/instance";
    let listed = pods.list(&ListParams::default().labels(selector)).await;
    listed.into_iter().flat_map(|l| l.items).any(|pod| {
        pod.metadata
            .annotations
            .and_then(|a| a.get("status").cloned())
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .is_some_and(|s| s["pending_restart"] == true)
    })
}

#[tokio::test]
async fn a_parameter_change_needing_a_restart_ends_after_the_instances_restarted() {
    let options = KubernetesOptions {
        patroni_loop_wait: LOOP_WAIT,
        ..options()
    };
    let world = World::start_with(&[], options).await;
    world
        .operator
        .set_default_scenario(Scenario::healthy().patroni_loop_wait(LOOP_WAIT));
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"instances": 2})).await;

    // Watch the Pods' Patroni status while the change is carried out: when was a restart
    // last seen pending?
    let pods: Api<Pod> = Api::namespaced(world.kube.client(), "pgplane-acme");
    let last_pending: Arc<Mutex<Option<Instant>>> = Arc::default();
    let watcher = {
        let (pods, last_pending) = (pods.clone(), last_pending.clone());
        tokio::spawn(async move {
            loop {
                if restart_pending(&pods).await {
                    *last_pending.lock().unwrap() = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let op = world
        .app
        .admin()
        .patch(
            "/v1/tenants/acme/clusters/orders",
            json!({"parameters": {"shared_buffers": "256MB"}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(op["restart_required"], true);
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    let ended = Instant::now();
    assert_eq!(done["state"], "succeeded", "{done}");
    // What the Pods show a while after the end must have been true at the end.
    tokio::time::sleep(LOOP_WAIT * 3).await;
    watcher.abort();
    let last = *last_pending.lock().unwrap();
    let last = last.expect("Patroni flagged the restart the new shared_buffers needs");
    assert!(
        last < ended,
        "the update ended {:?} before a restart was still pending",
        last - ended
    );
    assert!(!restart_pending(&pods).await);
}
