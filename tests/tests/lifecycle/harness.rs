//! A pgplane wired to a test Kubernetes API server with a simulated PGO.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, ListParams};
use kube_test_apiserver::operator::{ClusterSet, OperatorOptions, SimulatedOperator};
use kube_test_apiserver::{ServerOptions, TestApiServer, postgrescluster_resource};
use pgplane::platform::Platform;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};
use pgplane_tests::TestApp;
use serde_json::{Value, json};

/// The driver's options for the simulated operator: its Patroni's `loop_wait` is
/// `Scenario::healthy()`'s (20 ms), not PGO's 10 s.
pub fn options() -> KubernetesOptions {
    KubernetesOptions {
        patroni_loop_wait: Duration::from_millis(20),
        ..KubernetesOptions::default()
    }
}

pub struct World {
    pub kube: TestApiServer,
    pub operator: SimulatedOperator,
    pub app: TestApp,
    /// The recovery site's own Kubernetes cluster and operator, in worlds that have one.
    pub recovery: Option<(TestApiServer, SimulatedOperator)>,
}

impl World {
    pub async fn start(extra_args: &[&str]) -> World {
        Self::start_with(extra_args, options()).await
    }

    /// A world whose Kubernetes driver runs with `options`.
    pub async fn start_with(extra_args: &[&str], options: KubernetesOptions) -> World {
        let kube = TestApiServer::start(ServerOptions::default())
            .await
            .expect("test API server");
        let operator = SimulatedOperator::start(&kube, OperatorOptions::default());
        let platform = Arc::new(KubernetesPlatform::new(kube.client(), options));
        let app = TestApp::spawn_with_platform(platform, extra_args).await;
        World {
            kube,
            operator,
            app,
            recovery: None,
        }
    }

    /// A world whose recovery site is a second Kubernetes cluster: two test API servers, each
    /// with its simulated operator, in one Multi-Cluster Services clusterset; the driver runs
    /// with `options` (their recovery site must be remote) and a client for each.
    pub async fn start_with_recovery_cluster(
        extra_args: &[&str],
        options: KubernetesOptions,
    ) -> World {
        let clusterset = ClusterSet::new();
        let member = || OperatorOptions {
            clusterset: Some(clusterset.clone()),
            ..OperatorOptions::default()
        };
        let kube = TestApiServer::start(ServerOptions::default())
            .await
            .expect("test API server");
        let recovery = TestApiServer::start(ServerOptions::default())
            .await
            .expect("recovery site's test API server");
        let operator = SimulatedOperator::start(&kube, member());
        let recovery_operator = SimulatedOperator::start(&recovery, member());
        let platform =
            KubernetesPlatform::new(kube.client(), options).with_recovery_client(recovery.client());
        let app = TestApp::spawn_with_platform(Arc::new(platform), extra_args).await;
        World {
            kube,
            operator,
            app,
            recovery: Some((recovery, recovery_operator)),
        }
    }

    pub fn platform(kube: &TestApiServer) -> Arc<dyn Platform> {
        Arc::new(KubernetesPlatform::new(kube.client(), options()))
    }

    /// A tenant with room for `clusters` clusters.
    pub async fn tenant(&self, name: &str, clusters: i64) {
        self.app.create_tenant(name).await;
        let quota = json!({"max_clusters": clusters, "max_instances": 1000, "max_cpu_millis": 1_000_000, "max_memory_mib": 10_000_000, "max_storage_gib": 1_000_000});
        self.app
            .admin()
            .put(&format!("/v1/tenants/{name}/quota"), quota)
            .await
            .expect(200);
    }

    /// Polls an operation until it ends (or panics after `timeout`), returning it.
    pub async fn finished(&self, operation_id: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let call = self
                .app
                .admin()
                .get(&format!("/v1/operations/{operation_id}"))
                .await;
            if call.status == 503 {
                // The server says to retry later (a machine overloaded by the suite can hold a
                // request past its timeout); a client polling an operation does.
                assert!(started.elapsed() < timeout, "503 after {timeout:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            let op = call.expect(200).json();
            if ["succeeded", "failed", "cancelled"]
                .contains(&op["state"].as_str().unwrap_or_default())
            {
                return op;
            }
            if started.elapsed() >= timeout {
                let cluster = op["cluster"].as_str().unwrap_or_default();
                let seen = self.platform_view(cluster).await;
                panic!(
                    "operation still {} after {timeout:?}: {op}\nthe platform's view: {seen}",
                    op["state"]
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// What the test API server holds for the PostgresCluster `name` (generation, finalizers,
    /// status), for a failure message.
    async fn platform_view(&self, name: &str) -> String {
        let platform = self
            .postgresclusters()
            .await
            .into_iter()
            .filter(|c| c.metadata.name.as_deref() == Some(name))
            .map(|c| {
                format!(
                    "generation {:?}, finalizers {:?}, status {}",
                    c.metadata.generation, c.metadata.finalizers, c.data["status"]
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let ours: Option<(String, Option<i64>)> =
            sqlx::query_as("select phase, observed_generation from clusters where name = $1")
                .bind(name)
                .fetch_optional(&self.app.db)
                .await
                .ok()
                .flatten();
        let queue: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
            "select o.kind, o.state, o.lease_owner,
                    (o.run_after - now())::text || ' from now, lease until '
                        || coalesce((o.lease_expires_at - now())::text, '-')
             from operations o join clusters c on c.id = o.cluster_id where c.name = $1",
        )
        .bind(name)
        .fetch_all(&self.app.db)
        .await
        .unwrap_or_default();
        format!("{platform}\nour row (phase, observed generation): {ours:?}\nqueue: {queue:?}")
    }

    /// Every PostgresCluster on the test API server.
    pub async fn postgresclusters(&self) -> Vec<DynamicObject> {
        let api: Api<DynamicObject> =
            Api::all_with(self.kube.client(), &postgrescluster_resource());
        api.list(&ListParams::default())
            .await
            .expect("list postgresclusters")
            .items
    }
}
