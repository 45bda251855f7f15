//! A cluster's whole life through pgplane's driver on the real apiserver, with the simulated
//! operator running as a controller (watching and writing over the API, like PGO): the
//! tenant is ensured, the cluster applied, the operator's status makes the driver's watch
//! report it ready with its connection facts, deletion waits for PGO's finalizer, the watch
//! reports it gone, and the real garbage collector removes what the operator left behind
//! (the repository claim, owned by the cluster) but not its instance Pods while it runs.

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, ListParams, PostParams};
use kube_test_apiserver::operator::FINALIZER;
use pgplane::domain::cluster::{Phase, observe};
use pgplane::platform::{DeleteProgress, Endpoint, ObservedCluster, Platform};
use serde_json::json;

use crate::support::*;

fn phase(o: &ObservedCluster, spec: &pgplane::domain::cluster::ClusterSpec) -> Phase {
    let observed_generation = o.report.observed_generation.unwrap_or(0);
    observe(&o.report, observed_generation, spec, false).phase
}

#[tokio::test]
async fn a_cluster_becomes_ready_is_deleted_and_gone_with_the_operator_running_as_a_controller() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    operator(plane);
    let mut watch = env.watch();
    watch.resynced().await;

    let acme = tenant("lifecycle");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let mut s = spec("orders");
    s.instances = 2;
    s.pooler.enabled = true;
    let orders = target(&acme, s.clone());
    apply_until_admitted(&env, &orders).await;

    let ready = watch
        .observed(orders.cluster_id, "ready, with connection facts", |o| {
            o.caught_up
                && phase(o, &s) == Phase::Ready
                && o.connection.primary.is_some()
                && o.connection.pooler.is_some()
                && o.connection.password.is_some()
        })
        .await;
    let namespace = env.namespace_of(&acme);
    assert_eq!(ready.tenant_id, acme.tenant_id);
    assert_eq!(ready.applied_generation, Some(1));
    assert_eq!(
        ready.connection.primary,
        Some(Endpoint {
            host: format!("orders-primary.{namespace}.svc"),
            port: 5432,
        })
    );
    let secret = Api::<Secret>::namespaced(plane.client(), &namespace)
        .get("orders-pguser-orders")
        .await
        .expect("the user Secret");
    let password = secret.data.expect("data")["password"].clone();
    assert_eq!(
        ready.connection.password.as_deref().map(str::as_bytes),
        Some(password.0.as_slice())
    );

    // The operator's instance StatefulSets and Pods are objects the real garbage collector
    // leaves alone (their ownerReferences resolve): once it has collected an object created
    // after them whose owner does not exist, both Pods are still there, and the driver reads
    // the rollout as settled.
    let configmaps: Api<ConfigMap> = Api::namespaced(plane.client(), &namespace);
    let orphan: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "orphan", "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "gone",
            "uid": "00000000-0000-0000-0000-000000000000",
        }]},
    }))
    .expect("configmap");
    configmaps
        .create(&PostParams::default(), &orphan)
        .await
        .expect("orphan");
    eventually(WAIT, "the collector to delete the orphan", || async {
        configmaps
            .get_opt("orphan")
            .await
            .ok()
            .and_then(|c| c.is_none().then_some(()))
    })
    .await;
    let pods = Api::<Pod>::namespaced(plane.client(), &namespace)
        .list(&ListParams::default().labels("postgres-operator.crunchydata.com/cluster=orders"))
        .await
        .expect("pods");
    let live = pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .count();
    assert_eq!(live, 2, "the instance Pods outlive the garbage collector");
    let pending = env.platform.rollout_pending(&orders).await;
    assert!(matches!(pending, Ok(None)), "{pending:?}");

    let first = env.platform.delete_cluster(&orders).await.expect("delete");
    assert!(
        matches!(&first, DeleteProgress::Deleting { waiting_for } if waiting_for.contains(FINALIZER)),
        "{first:?}"
    );
    watch
        .observed(orders.cluster_id, "deleting", |o| o.deleting)
        .await;
    assert_eq!(watch.gone(orders.cluster_id).await, acme.tenant_id);
    assert_eq!(
        env.platform.delete_cluster(&orders).await.expect("delete"),
        DeleteProgress::Gone
    );

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(plane.client(), &namespace);
    let secrets: Api<Secret> = Api::namespaced(plane.client(), &namespace);
    eventually(
        WAIT,
        "the repository claim and the user Secret collected",
        || async {
            let claim = claims.get_opt("orders-repo1").await.ok()?;
            let secret = secrets.get_opt("orders-pguser-orders").await.ok()?;
            (claim.is_none() && secret.is_none()).then_some(())
        },
    )
    .await;
}
