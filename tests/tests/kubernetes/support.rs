//! Shared fixtures: a server with a simulated operator, a driver on it, tenants and cluster
//! targets as builders, polling, and a running watch with a typed event reader.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject};
use kube_test_apiserver::operator::{OperatorOptions, Scenario, SimulatedOperator};
use kube_test_apiserver::{RequestRecord, ServerOptions, TestApiServer, Verb};
use pgplane::domain::cluster::{ClusterRequest, ClusterSpec, DeletionPolicy, Site};
use pgplane::domain::quota::QuotaLimits;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform, postgrescluster};
use pgplane::platform::{ClusterTarget, TenantTarget};
use uuid::Uuid;

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// A test API server, its simulated operator, and a driver using the server.
pub struct Env {
    pub server: TestApiServer,
    pub operator: SimulatedOperator,
    pub platform: KubernetesPlatform,
}

impl Env {
    /// A server with a healthy operator and a driver with default options.
    pub async fn start() -> Env {
        Env::with(
            Scenario::healthy(),
            KubernetesOptions::default(),
            ServerOptions::default(),
        )
        .await
    }

    /// A server with `scenario` as the operator's default.
    pub async fn with_scenario(scenario: Scenario) -> Env {
        Env::with(
            scenario,
            KubernetesOptions::default(),
            ServerOptions::default(),
        )
        .await
    }

    pub async fn with(
        scenario: Scenario,
        options: KubernetesOptions,
        server_options: ServerOptions,
    ) -> Env {
        let server = TestApiServer::start(server_options)
            .await
            .expect("server starts");
        let operator = SimulatedOperator::start(&server, OperatorOptions::with_scenario(scenario));
        let platform = KubernetesPlatform::new(server.client(), options);
        Env {
            server,
            operator,
            platform,
        }
    }

    /// A second driver on the same server whose client does not retry 429/503/504 by itself
    /// (kube's default), so injected errors reach the driver's classification.
    pub fn platform_without_client_retries(
        &self,
        options: KubernetesOptions,
    ) -> KubernetesPlatform {
        let client = self.server.client_with(|c| c.default_retry = false);
        KubernetesPlatform::new(client, options)
    }

    /// The PostgresClusters of a namespace.
    pub fn clusters(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.server.client(), namespace, &postgrescluster())
    }

    /// The namespace object, if it exists.
    pub async fn namespace(&self, name: &str) -> Option<Namespace> {
        Api::<Namespace>::all(self.server.client())
            .get_opt(name)
            .await
            .expect("namespace get")
    }

    /// Resource requests the driver sent (not the simulated operator's, not discovery).
    pub fn driver_requests(&self) -> Vec<RequestRecord> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.is_resource() && !r.is_from_operator())
            .collect()
    }

    /// Creates StorageClass `name`, allowing volume expansion or not.
    pub async fn storage_class(&self, name: &str, expandable: bool) {
        let class: StorageClass = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name },
            "provisioner": "csi.example.com",
            "allowVolumeExpansion": expandable,
        }))
        .expect("a StorageClass");
        Api::<StorageClass>::all(self.server.client())
            .create(&Default::default(), &class)
            .await
            .expect("StorageClass created");
    }

    /// Starts the driver's watch; events arrive on the returned reader.
    pub fn watch(&self) -> Watch {
        Watch::start(self.platform.clone(), WAIT)
    }
}

/// A tenant with room for a few clusters.
pub fn tenant(name: &str) -> TenantTarget {
    TenantTarget {
        tenant_id: Uuid::new_v4(),
        tenant_name: name.into(),
        quota: QuotaLimits {
            max_clusters: 3,
            max_instances: 6,
            max_cpu_millis: 6000,
            max_memory_mib: 12288,
            max_storage_gib: 500,
        },
        former_ids: Vec::new(),
    }
}

/// The default spec of a cluster named `name` (database and owner named alike).
pub fn spec(name: &str) -> ClusterSpec {
    ClusterSpec::from_request(ClusterRequest::named(name)).expect("the default spec is valid")
}

/// [`spec`] with `deletion_policy: delete_backups`: deleting it needs no pause and detach.
pub fn spec_deleting_backups(name: &str) -> ClusterSpec {
    ClusterSpec {
        deletion_policy: DeletionPolicy::DeleteBackups,
        ..spec(name)
    }
}

/// A cluster target of `tenant` at generation 1.
pub fn target(tenant: &TenantTarget, spec: ClusterSpec) -> ClusterTarget {
    ClusterTarget {
        tenant: tenant.clone(),
        cluster_id: Uuid::new_v4(),
        generation: 1,
        spec,
        image: None,
        tenant_certificates: false,
        site: Site::Home,
        source_site: None,
    }
}

/// Polls `probe` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a record is a server-side apply by pgplane.
pub fn is_pgplane_apply(r: &RequestRecord) -> bool {
    r.verb == Verb::Patch && r.field_manager.as_deref() == Some("pgplane")
}

/// A running watch of the driver (each wait bounded by [`WAIT`]).
pub type Watch = pgplane_tests::watch::DriverWatch;
