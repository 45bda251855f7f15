//! Shared helpers: servers, typed APIs for the PGO resources, manifests, the upstream examples,
//! raw HTTP for protocol-level assertions, and polling.

use std::future::Future;
use std::time::Duration;

use http_body_util::BodyExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube_test_apiserver::{ServerOptions, TestApiServer};
use serde_json::{Value, json};

pub async fn server() -> TestApiServer {
    TestApiServer::start(ServerOptions::default())
        .await
        .expect("server starts")
}

pub async fn server_with(options: ServerOptions) -> TestApiServer {
    TestApiServer::start(options).await.expect("server starts")
}

pub fn postgrescluster_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "postgres-operator.crunchydata.com",
            "v1beta1",
            "PostgresCluster",
        ),
        "postgresclusters",
    )
}

pub fn clusters(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &postgrescluster_resource())
}

/// A minimal valid PostgresCluster, in the `ClusterSpec::test()` spirit.
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

/// The upstream v1beta1 PostgresCluster examples: (file name, manifest).
pub fn upstream_examples() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/pgo-examples");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&path).expect("readable");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("valid YAML");
        for doc in docs.into_iter().filter(|d| d["kind"] == "PostgresCluster") {
            out.push((
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
                doc,
            ));
        }
    }
    out
}

/// The `Status` of a kube API error (panics on other errors).
pub fn status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `check` every 10 ms until it returns `Some`, failing after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A raw HTTP response: status, headers, body text.
pub struct Raw {
    pub code: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Raw {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Newline-delimited JSON (watch streams).
    pub fn lines(&self) -> Vec<Value> {
        self.body
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }
}

/// Sends a raw request through kube's client (no status-code interpretation).
pub async fn raw(
    client: &kube::Client,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Option<Value>,
) -> Raw {
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, ct);
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let response = client
        .send(
            builder
                .body(kube::client::Body::from(bytes))
                .expect("request"),
        )
        .await
        .expect("sent");
    let code = response.status().as_u16();
    let headers = response.headers().clone();
    let collected = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Raw {
        code,
        headers,
        body: String::from_utf8_lossy(&collected).to_string(),
    }
}

pub async fn create_namespace(client: &kube::Client, name: &str) {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({ "metadata": { "name": name } })).expect("namespace");
    namespaces
        .create(&Default::default(), &ns)
        .await
        .expect("namespace created");
}
