//! [`TestApiServer`]: starting, addressing, and stopping one in-process API server, and building
//! `kube` clients and kubeconfigs that point at it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admission::FieldValidation;
use crate::exec::{ExecHandlerId, ExecHandlers, ExecOutput, ExecRequest};
use crate::faults::Faults;
use crate::request_log::{RequestLog, RequestRecord};
use crate::routes::{App, AppState, router};
use crate::store::{ObjKey, Store};

/// How a [`TestApiServer`] behaves.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Events retained for watches and historical lists; older reads get 410 Expired.
    pub event_window: usize,
    /// How often an idle watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// The `fieldValidation` used when a write does not send one. The real apiserver defaults
    /// to `Warn` (prune unknown fields, warn); this server defaults to `Strict` so that a
    /// manifest with a misspelt field fails the test that sends it.
    pub field_validation: FieldValidation,
    /// Seed of the fault-injection RNG.
    pub fault_seed: u64,
    /// Namespaces that exist at start (like a fresh cluster's `default`).
    pub namespaces: Vec<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            event_window: 10_000,
            bookmark_interval: Duration::from_secs(1),
            field_validation: FieldValidation::Strict,
            fault_seed: 0,
            namespaces: vec!["default".into()],
        }
    }
}

impl ServerOptions {
    /// Sets [`ServerOptions::event_window`].
    pub fn with_event_window(mut self, events: usize) -> Self {
        self.event_window = events;
        self
    }

    /// Sets [`ServerOptions::bookmark_interval`].
    pub fn with_bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Sets [`ServerOptions::field_validation`].
    pub fn with_field_validation(mut self, v: FieldValidation) -> Self {
        self.field_validation = v;
        self
    }

    /// Sets [`ServerOptions::fault_seed`].
    pub fn with_fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = seed;
        self
    }

    /// Sets [`ServerOptions::namespaces`].
    pub fn with_namespaces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.namespaces = names.into_iter().map(Into::into).collect();
        self
    }
}

/// A running API server on `127.0.0.1:<random port>`. Dropping it stops it.
pub struct TestApiServer {
    app: App,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

fn namespace_object(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": crate::meta::now_rfc3339(),
            "labels": { "kubernetes.io/metadata.name": name },
        },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    })
}

impl TestApiServer {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(options: ServerOptions) -> std::io::Result<TestApiServer> {
        let store = Store::new(options.event_window);
        for ns in &options.namespaces {
            store
                .write(|txn| {
                    txn.put(ObjKey::new("namespaces", "", ns), namespace_object(ns));
                    Ok::<(), ()>(())
                })
                .ok();
        }
        let app: App = Arc::new(AppState {
            store,
            faults: Faults::new(options.fault_seed),
            options,
            log: RequestLog::default(),
            exec: ExecHandlers::default(),
            shutdown: CancellationToken::new(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shutdown = app.shutdown.clone();
        let service = router(app.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!("test apiserver stopped: {e}");
            }
        });
        Ok(TestApiServer {
            app,
            addr,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig with one context (`kube-test-apiserver`, namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-test-apiserver\n  cluster:\n    server: {}\ncontexts:\n- name: kube-test-apiserver\n  context:\n    cluster: kube-test-apiserver\n    user: kube-test-user\n    namespace: default\ncurrent-context: kube-test-apiserver\nusers:\n- name: kube-test-user\n  user: {{}}\n",
            self.url()
        )
    }

    /// Writes [`TestApiServer::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A `kube::Config` for this server (default namespace `default`, kube's default retries).
    pub fn config(&self) -> kube::Config {
        let uri = axum::http::Uri::from_maybe_shared(self.url())
            .unwrap_or_else(|_| axum::http::Uri::from_static("http://127.0.0.1"));
        kube::Config::new(uri)
    }

    /// A `kube::Client` talking HTTP to this server.
    ///
    /// # Panics
    /// If kube cannot build a client for a plain-HTTP config (a harness defect, not a test
    /// outcome).
    pub fn client(&self) -> kube::Client {
        self.client_with(|_| {})
    }

    /// A client whose config was adjusted by `adjust` (timeouts, retries, headers such as a
    /// distinct `User-Agent`).
    ///
    /// # Panics
    /// Like [`TestApiServer::client`].
    pub fn client_with(&self, adjust: impl FnOnce(&mut kube::Config)) -> kube::Client {
        let mut config = self.config();
        adjust(&mut config);
        match kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => panic!(
                "kube-test-apiserver: cannot build a kube client for {}: {e}",
                self.url()
            ),
        }
    }

    /// A client built through kube's kubeconfig loader from [`TestApiServer::kubeconfig_yaml`].
    pub async fn client_from_kubeconfig(
        &self,
    ) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.app.log.clear();
    }

    /// The fault-injection switchboard.
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// Adds a handler for `pods/exec` commands, asked before every handler added earlier
    /// (the simulated operator's included): `Some` runs the command, `None` passes. A command
    /// no handler knows fails as a missing executable does (see [`crate::exec`]).
    pub fn add_exec_handler(
        &self,
        handler: impl Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync + 'static,
    ) -> ExecHandlerId {
        self.app.exec.add(handler)
    }

    /// Removes a handler added with [`TestApiServer::add_exec_handler`].
    pub fn remove_exec_handler(&self, id: ExecHandlerId) {
        self.app.exec.remove(id);
    }

    /// The exec handler registry (cloneable; what the simulated operator registers in).
    pub fn exec_handlers(&self) -> ExecHandlers {
        self.app.exec.clone()
    }

    /// Changes how many events are retained (a small window makes 410 Expired easy).
    pub fn set_event_window(&self, events: usize) {
        self.app.store.set_event_window(events);
    }

    /// Drops the whole event history: any watch or list from an older resourceVersion or
    /// continue token now gets 410 Expired.
    pub fn compact(&self) {
        self.app.store.compact();
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.store.read(|s| s.rv())
    }

    /// Stops serving and waits for the server task to end. Open watches are closed.
    pub async fn shutdown(mut self) {
        self.app.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        self.app.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
