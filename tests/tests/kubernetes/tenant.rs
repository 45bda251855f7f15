//! `ensure_tenant`: the namespace and its quota, limit range and network policy.

use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::Api;
use kube_test_apiserver::ServerOptions;
use kube_test_apiserver::operator::Scenario;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};
use pgplane::platform::{Platform, PlatformError};

use crate::support::*;

#[tokio::test]
async fn ensuring_a_tenant_creates_its_labelled_namespace_quota_limit_range_and_network_policy() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("ensured");

    let ns = env
        .namespace("pgplane-acme")
        .await
        .expect("namespace exists");
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "pgplane");
    assert_eq!(labels["pgplane.io/tenant-id"], acme.tenant_id.to_string());
    assert_eq!(labels["pgplane.io/tenant"], "acme");

    let client = env.server.client();
    let quota = Api::<ResourceQuota>::namespaced(client.clone(), "pgplane-acme")
        .get("pgplane-tenant-quota")
        .await
        .expect("quota");
    let hard = quota.spec.and_then(|s| s.hard).unwrap_or_default();
    // 6 instances, 3 clusters: sidecars = 4 × 6 + 8 × 3 = 48
    assert_eq!(
        hard["requests.cpu"].0,
        format!("{}m", 6000 + 48 * 100 + 3 * 100)
    );
    assert_eq!(
        hard["limits.memory"].0,
        format!("{}Mi", 12288 + 48 * 512 + 3 * 128)
    );
    assert_eq!(hard["requests.storage"].0, "500Gi");
    assert_eq!(hard["persistentvolumeclaims"].0, "9");
    assert_eq!(hard["pods"].0, "27");
    assert_eq!(
        hard["count/postgresclusters.postgres-operator.crunchydata.com"].0,
        "3"
    );

    let limits = Api::<LimitRange>::namespaced(client.clone(), "pgplane-acme")
        .get("pgplane-container-defaults")
        .await
        .expect("limit range");
    let item = &limits.spec.expect("spec").limits[0];
    assert_eq!(item.type_, "Container");
    assert_eq!(
        item.default_request.as_ref().expect("defaultRequest")["cpu"].0,
        "100m"
    );

    let policy = Api::<NetworkPolicy>::namespaced(client, "pgplane-acme")
        .get("pgplane-tenant-isolation")
        .await
        .expect("network policy");
    let spec = serde_json::to_value(policy.spec.expect("spec")).expect("json");
    assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress"]));
    assert_eq!(
        spec["ingress"][2]["from"][0]["namespaceSelector"]["matchLabels"],
        serde_json::json!({ "pgplane.io/client-of": "acme" })
    );
}

#[tokio::test]
async fn ensuring_a_tenant_twice_is_idempotent_and_only_server_side_applies_as_pgplane() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("first");
    let rv = env.server.resource_version();
    env.server.clear_requests();
    // Another process (a fresh driver, without this one's memory of ensured tenants).
    let restarted = KubernetesPlatform::new(env.server.client(), KubernetesOptions::default());
    restarted.ensure_tenant(&acme).await.expect("second");

    let requests = env.driver_requests();
    let summary: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.verb.as_str(), r.resource))
        .collect();
    assert_eq!(
        summary,
        [
            "get namespaces",
            "patch namespaces",
            // retained claims, which the quota makes room for
            "list persistentvolumeclaims",
            "patch resourcequotas",
            "patch limitranges",
            "patch networkpolicies",
        ]
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.verb.is_write())
            .all(is_pgplane_apply)
    );
    assert!(requests.iter().all(|r| r.code == 200), "{requests:?}");
    assert_eq!(
        env.server.resource_version(),
        rv,
        "an unchanged apply writes nothing"
    );
}

#[tokio::test]
async fn a_changed_quota_is_applied_to_the_resource_quota() {
    let env = Env::start().await;
    let mut acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("first");
    acme.quota.max_clusters = 1;
    acme.quota.max_instances = 1;
    env.platform.ensure_tenant(&acme).await.expect("second");
    let quota = Api::<ResourceQuota>::namespaced(env.server.client(), "pgplane-acme")
        .get("pgplane-tenant-quota")
        .await
        .expect("quota");
    let hard = quota.spec.and_then(|s| s.hard).unwrap_or_default();
    assert_eq!(hard["pods"].0, "8");
    assert_eq!(
        hard["count/postgresclusters.postgres-operator.crunchydata.com"].0,
        "1"
    );
}

#[tokio::test]
async fn a_namespace_pgplane_does_not_manage_is_never_adopted() {
    let env = Env::with(
        Scenario::healthy(),
        KubernetesOptions::default(),
        ServerOptions::default().with_namespaces(["default", "pgplane-acme"]),
    )
    .await;
    let err = env
        .platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect_err("refused");
    let PlatformError::Rejected(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("not managed by pgplane"), "{why}");
    assert!(
        env.driver_requests().iter().all(|r| !r.verb.is_write()),
        "nothing written"
    );
}

#[tokio::test]
async fn a_namespace_of_another_tenant_with_the_same_name_is_never_adopted() {
    let env = Env::start().await;
    env.platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect("first tenant");
    let err = env
        .platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, PlatformError::Rejected(why) if why.contains("another tenant")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_namespace_prefix_is_an_option() {
    let options = KubernetesOptions {
        namespace_prefix: "db-".into(),
        ..KubernetesOptions::default()
    };
    let env = Env::with(Scenario::healthy(), options, ServerOptions::default()).await;
    env.platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect("ensured");
    assert!(env.namespace("db-acme").await.is_some());
}

#[tokio::test]
async fn a_driver_does_not_ensure_the_same_tenant_again_until_its_quota_changes() {
    let env = Env::start().await;
    let mut acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("first");
    env.server.clear_requests();
    env.platform.ensure_tenant(&acme).await.expect("again");
    env.platform
        .apply_cluster(&target(&acme, spec("orders")))
        .await
        .expect("applied");
    let summary: Vec<String> = env
        .driver_requests()
        .iter()
        .map(|r| format!("{} {}", r.verb.as_str(), r.resource))
        .collect();
    assert_eq!(
        summary,
        // A first generation first looks for backups a deleted cluster of its name left.
        ["list persistentvolumeclaims", "patch postgresclusters"],
        "only the cluster is applied"
    );

    env.server.clear_requests();
    acme.quota.max_clusters = 2;
    env.platform.ensure_tenant(&acme).await.expect("new quota");
    assert!(
        env.driver_requests()
            .iter()
            .any(|r| r.resource == "resourcequotas"),
        "a quota change is applied"
    );
}

#[tokio::test]
async fn a_tenant_namespace_deleted_behind_the_drivers_back_is_recreated_on_the_next_apply() {
    let env = Env::start().await;
    let acme = tenant("acme");
    env.platform.ensure_tenant(&acme).await.expect("ensured");
    Api::<Namespace>::all(env.server.client())
        .delete("pgplane-acme", &Default::default())
        .await
        .expect("namespace deleted");
    while env.namespace("pgplane-acme").await.is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    env.platform
        .apply_cluster(&target(&acme, spec("orders")))
        .await
        .expect("applied after ensuring the tenant again");
    assert!(env.namespace("pgplane-acme").await.is_some());
    Api::<ResourceQuota>::namespaced(env.server.client(), "pgplane-acme")
        .get("pgplane-tenant-quota")
        .await
        .expect("the quota is back too");
}
