//! What admission adds to a Pod, as on Kubernetes 1.36: the `default` ServiceAccount, the
//! default `not-ready`/`unreachable` tolerations, and the namespace's LimitRange defaults for
//! containers that do not set resources.

use k8s_openapi::api::core::v1::{LimitRange, Pod};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::support::*;

fn pod(name: &str, spec: Value) -> Pod {
    serde_json::from_value(json!({ "metadata": { "name": name }, "spec": spec })).expect("a Pod")
}

fn tolerations(p: &Pod) -> Value {
    json!(p.spec.as_ref().and_then(|s| s.tolerations.clone()))
}

fn default_toleration(key: &str) -> Value {
    json!({ "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300 })
}

#[tokio::test]
async fn a_new_pod_runs_as_the_default_service_account_and_tolerates_lost_nodes_for_five_minutes() {
    let server = server().await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let created = pods
        .create(
            &PostParams::default(),
            &pod(
                "plain",
                json!({ "containers": [{ "name": "c", "image": "busybox" }] }),
            ),
        )
        .await
        .expect("created");
    let spec = created.spec.clone().expect("spec");
    assert_eq!(spec.service_account_name.as_deref(), Some("default"));
    assert_eq!(
        tolerations(&created),
        json!([
            default_toleration("node.kubernetes.io/not-ready"),
            default_toleration("node.kubernetes.io/unreachable")
        ])
    );
    // What admission plugins set belongs to no field manager.
    let owned = json!(created.metadata.managed_fields)[0]["fieldsV1"]["f:spec"].clone();
    assert!(owned.get("f:tolerations").is_none(), "{owned}");
    assert!(owned.get("f:serviceAccountName").is_none(), "{owned}");

    // A Pod's own account and tolerations are kept; a taint it tolerates already (one key, or
    // every key) gets no default toleration.
    let own = pods
        .create(
            &PostParams::default(),
            &pod(
                "own",
                json!({
                    "serviceAccountName": "runner",
                    "containers": [{ "name": "c", "image": "busybox" }],
                    "tolerations": [{ "key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute" }],
                }),
            ),
        )
        .await
        .expect("created");
    assert_eq!(
        own.spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref()),
        Some("runner")
    );
    assert_eq!(
        tolerations(&own),
        json!([
            { "key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute" },
            default_toleration("node.kubernetes.io/unreachable")
        ])
    );
    let everywhere = pods
        .create(
            &PostParams::default(),
            &pod(
                "everywhere",
                json!({
                    "containers": [{ "name": "c", "image": "busybox" }],
                    "tolerations": [{ "operator": "Exists" }],
                }),
            ),
        )
        .await
        .expect("created");
    assert_eq!(tolerations(&everywhere), json!([{ "operator": "Exists" }]));
}

#[tokio::test]
async fn containers_without_resources_get_the_defaults_of_the_namespace_limit_range() {
    let server = server().await;
    let client = server.client();
    let ranges: Api<LimitRange> = Api::namespaced(client.clone(), "default");
    let range: LimitRange = serde_json::from_value(json!({
        "metadata": { "name": "sizes" },
        "spec": { "limits": [{ "type": "Container",
            "default": { "cpu": "500m", "memory": "256Mi" },
            "defaultRequest": { "cpu": "100m" } }] },
    }))
    .expect("a LimitRange");
    let stored = ranges
        .create(&PostParams::default(), &range)
        .await
        .expect("created");
    // A default request it does not give is its default limit.
    let item = json!(stored.spec.expect("spec").limits[0]);
    assert_eq!(
        item["defaultRequest"],
        json!({ "cpu": "100m", "memory": "256Mi" })
    );

    let pods: Api<Pod> = Api::namespaced(client, "default");
    let created = pods
        .create(
            &PostParams::default(),
            &pod(
                "sized",
                json!({ "containers": [
                    { "name": "bare", "image": "busybox" },
                    { "name": "capped", "image": "busybox", "resources": { "limits": { "cpu": "1" } } },
                ] }),
            ),
        )
        .await
        .expect("created");
    let containers = json!(created.spec.expect("spec").containers);
    assert_eq!(
        containers[0]["resources"],
        json!({ "limits": { "cpu": "500m", "memory": "256Mi" }, "requests": { "cpu": "100m", "memory": "256Mi" } })
    );
    // Its own limit is kept, and (Pod defaulting, before the LimitRanger) is its request too.
    assert_eq!(
        containers[1]["resources"],
        json!({ "limits": { "cpu": "1", "memory": "256Mi" }, "requests": { "cpu": "1", "memory": "256Mi" } })
    );
    assert_eq!(
        created
            .metadata
            .annotations
            .unwrap_or_default()
            .get("kubernetes.io/limit-ranger")
            .map(String::as_str),
        Some(
            "LimitRanger plugin set: cpu, memory request for container bare; \
             cpu, memory limit for container bare; memory request for container capped; \
             memory limit for container capped"
        )
    );
}
