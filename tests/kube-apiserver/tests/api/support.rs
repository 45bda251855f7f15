//! Shared helpers for the integration tests.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube_test_apiserver::{ServerOptions, TestApiServer};
use serde_json::{Value, json};

pub async fn server() -> TestApiServer {
    TestApiServer::start(ServerOptions::default()).await.expect("server starts")
}

pub fn postgrescluster_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("postgres-operator.crunchydata.com", "v1beta1", "PostgresCluster"),
        "postgresclusters",
    )
}

pub fn clusters(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &postgrescluster_resource())
}

/// A minimal valid PostgresCluster manifest.
pub fn cluster_manifest(name: &str) -> Value {
    json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": { "name": name },
        "spec": {
            "postgresVersion": 17,
            "instances": [{
                "name": "instance1",
                "replicas": 1,
                "dataVolumeClaimSpec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": "1Gi" } }
                }
            }],
            "backups": { "pgbackrest": { "repos": [{
                "name": "repo1",
                "volume": { "volumeClaimSpec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": "1Gi" } }
                } }
            }] } }
        }
    })
}

pub fn dynamic(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("valid DynamicObject")
}
