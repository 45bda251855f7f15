//! `ensure_tenant` on the real apiserver: its namespace, ResourceQuota, LimitRange and
//! NetworkPolicy pass real validation and are counted by the real quota controller; ensuring
//! again writes nothing; a peer address range Kubernetes cannot parse is refused; a namespace
//! being terminated by the real namespace controller refuses new content until it is gone, and
//! the next apply then recreates the tenant.

use k8s_openapi::api::core::v1::{ConfigMap, LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use pgplane::platform::kubernetes::network::POLICY_NAME;
use pgplane::platform::kubernetes::tenant::LIMIT_RANGE_NAME;
use pgplane::platform::kubernetes::{
    KubernetesOptions, KubernetesPlatform, RecoverySite, RemoteSite,
};
use pgplane::platform::{Platform, PlatformError};
use serde_json::json;

use crate::support::*;

/// The resourceVersions of the tenant's four objects.
async fn versions(env: &Env<'_>, namespace: &str) -> [Option<String>; 4] {
    let client = env.plane.client();
    let rv = |m: kube::api::ObjectMeta| m.resource_version;
    [
        rv(Api::<Namespace>::all(client.clone())
            .get(namespace)
            .await
            .expect("namespace")
            .metadata),
        rv(Api::<ResourceQuota>::namespaced(client.clone(), namespace)
            .get(TENANT_QUOTA)
            .await
            .expect("quota")
            .metadata),
        rv(Api::<LimitRange>::namespaced(client.clone(), namespace)
            .get(LIMIT_RANGE_NAME)
            .await
            .expect("limit range")
            .metadata),
        rv(Api::<NetworkPolicy>::namespaced(client, namespace)
            .get(POLICY_NAME)
            .await
            .expect("network policy")
            .metadata),
    ]
}

#[tokio::test]
async fn a_tenants_objects_pass_real_validation_are_counted_and_ensuring_again_writes_nothing() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("tenant");
    ensure_counted(&env, &acme).await;
    let namespace = env.namespace_of(&acme);
    let quota = Api::<ResourceQuota>::namespaced(plane.client(), &namespace)
        .get(TENANT_QUOTA)
        .await
        .expect("quota");
    let status = quota.status.expect("counted by the quota controller");
    assert_eq!(
        status.hard,
        quota.spec.and_then(|s| s.hard),
        "the controller mirrors spec.hard"
    );
    let used = status.used.unwrap_or_default();
    assert_eq!(used[TENANT_COUNT].0, "0");
    assert_eq!(used["pods"].0, "0");

    let before = versions(&env, &namespace).await;
    // Another process: without this driver's memory of ensured tenants.
    let restarted = KubernetesPlatform::new(plane.client(), KubernetesOptions::default());
    restarted.ensure_tenant(&acme).await.expect("again");
    assert_eq!(
        versions(&env, &namespace).await,
        before,
        "an unchanged server-side apply writes nothing"
    );
}

const TENANT_COUNT: &str = pgplane_tests::envtest::POSTGRESCLUSTER_COUNT;

fn with_peers(cidrs: &[&str]) -> KubernetesOptions {
    KubernetesOptions {
        recovery: Some(RecoverySite {
            namespace_prefix: "pgplane-dr-".into(),
            remote: Some(RemoteSite {
                service_domain: "svc.clusterset.local".into(),
                peer_cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            }),
        }),
        ..KubernetesOptions::default()
    }
}

#[tokio::test]
async fn peer_address_ranges_are_validated_by_the_real_network_policy_validation() {
    let plane = plane_or_skip!();
    let good = KubernetesPlatform::new(plane.client(), with_peers(&["10.20.0.0/16"]));
    let acme = tenant("peers");
    good.ensure_tenant(&acme).await.expect("a valid range");
    let namespace = good.tenant_namespace(&acme.tenant_name);
    let policy = Api::<NetworkPolicy>::namespaced(plane.client(), &namespace)
        .get(POLICY_NAME)
        .await
        .expect("policy");
    let text = serde_json::to_string(&policy.spec).expect("json");
    assert!(text.contains("10.20.0.0/16"), "{text}");

    let bad = KubernetesPlatform::new(plane.client(), with_peers(&["10.20.0.0/33"]));
    let refused = bad.ensure_tenant(&tenant("badpeers")).await;
    assert!(
        matches!(&refused, Err(PlatformError::Rejected(m))
            if m.starts_with("422 Invalid") && m.contains("spec.ingress[") && m.contains("ipBlock.cidr")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_terminating_tenant_namespace_refuses_new_content_and_the_next_apply_after_it_is_gone_recreates_it()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("terminating");
    ensure_counted(&env, &acme).await;
    let namespace = env.namespace_of(&acme);
    // An object with a finalizer holds the namespace in Terminating until it is released.
    let hold = "envtest.pgplane.io/hold";
    let configmaps: Api<ConfigMap> = Api::namespaced(plane.client(), &namespace);
    let held: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "held", "finalizers": [hold] },
    }))
    .expect("configmap");
    configmaps
        .create(&PostParams::default(), &held)
        .await
        .expect("created");
    let namespaces: Api<Namespace> = Api::all(plane.client());
    namespaces
        .delete(&namespace, &DeleteParams::default())
        .await
        .expect("namespace deletion requested");

    let orders = target(&acme, spec("orders"));
    let refused = env.platform.apply_cluster(&orders).await;
    assert!(
        matches!(&refused, Err(PlatformError::Transient(m)) if m.contains("because it is being terminated")),
        "{refused:?}"
    );

    eventually(
        WAIT,
        "the namespace controller to wait for the finalizer",
        || async {
            let cm = configmaps.get("held").await.ok()?;
            cm.metadata.deletion_timestamp.map(|_| ())
        },
    )
    .await;
    let release = json!({ "metadata": { "finalizers": null } });
    configmaps
        .patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("released");
    eventually(WAIT, "the namespace gone", || async {
        namespaces
            .get_opt(&namespace)
            .await
            .ok()
            .and_then(|n| n.is_none().then_some(()))
    })
    .await;

    apply_until_admitted(&env, &orders).await;
    let quota = Api::<ResourceQuota>::namespaced(plane.client(), &namespace)
        .get(TENANT_QUOTA)
        .await;
    assert!(quota.is_ok(), "the tenant was ensured again: {quota:?}");
    assert!(
        env.clusters(&namespace)
            .get_opt("orders")
            .await
            .expect("get")
            .is_some()
    );
}
