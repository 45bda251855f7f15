//! Fixtures of the real-apiserver tier: the shared control plane (or a skip), pgplane's driver
//! on it, one simulated operator for the whole binary running as a controller, tenants with
//! names no other test uses, polling, and the driver's watch with a typed reader.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube_test_apiserver::operator::{OperatorOptions, SimulatedOperator, USER_AGENT};
use pgplane::domain::cluster::{ClusterRequest, ClusterSpec, DeletionPolicy, Site};
use pgplane::domain::quota::QuotaLimits;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform, postgrescluster};
use pgplane::platform::{ClusterTarget, TenantTarget};
use pgplane_tests::envtest::{self, ControlPlane, unique_name};
use uuid::Uuid;

/// How long a test waits for something the apiserver or a controller does promptly (the
/// controller manager's garbage collector and namespace controller take up to a few seconds
/// on this 2-core machine).
pub const WAIT: Duration = Duration::from_secs(30);

/// The shared control plane, or `return` from the test after printing why it is skipped.
macro_rules! plane_or_skip {
    () => {
        match pgplane_tests::envtest::shared() {
            Some(plane) => plane,
            None => return,
        }
    };
}
pub(crate) use plane_or_skip;

/// pgplane's Kubernetes driver on the shared control plane, with default options.
pub struct Env<'a> {
    pub plane: &'a ControlPlane,
    pub platform: KubernetesPlatform,
}

impl Env<'_> {
    /// The driver on `plane` (admin credentials, as the tier checks Kubernetes behaviour, not
    /// RBAC; see `rbac.rs` for the deploy's ClusterRole).
    pub fn on(plane: &ControlPlane) -> Env<'_> {
        Env {
            plane,
            platform: KubernetesPlatform::new(plane.client(), KubernetesOptions::default()),
        }
    }

    /// The PostgresClusters of a namespace.
    pub fn clusters(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.plane.client(), namespace, &postgrescluster())
    }

    /// The namespace of `tenant` (the driver's naming).
    pub fn namespace_of(&self, tenant: &TenantTarget) -> String {
        self.platform.tenant_namespace(&tenant.tenant_name)
    }

    /// Starts the driver's watch; events arrive on the returned reader.
    pub fn watch(&self) -> Watch {
        Watch::start(self.platform.clone(), WAIT)
    }
}

/// The simulated PGO running as a controller against the shared control plane, one for the
/// whole test binary (two would both reconcile every cluster): started on the plane's own
/// runtime so it outlives the test that started it, with its client sending
/// `User-Agent: pgo-simulated-operator`. Its default scenario is healthy; tests that need
/// another set it per cluster with `set_scenario`.
pub fn operator(plane: &'static ControlPlane) -> &'static SimulatedOperator {
    static OPERATOR: OnceLock<SimulatedOperator> = OnceLock::new();
    OPERATOR.get_or_init(|| {
        let _runtime = plane.background().enter();
        let client = plane.client_with(|config| {
            config.headers.push((
                http::header::USER_AGENT,
                http::HeaderValue::from_static(USER_AGENT),
            ));
        });
        let options = OperatorOptions {
            // Every cluster of every test is reconciled per tick: gentler than the in-process
            // default (20 ms) on a real apiserver sharing two cores with the tests.
            resync: Duration::from_millis(250),
            ..OperatorOptions::default()
        };
        SimulatedOperator::start_with_client(client, options)
    })
}

/// A control plane of the test's own (for what must not disturb the other tests, or be
/// disturbed by them), or `None` after printing why the test is skipped. Killed when dropped.
pub async fn own_plane(options: envtest::Options) -> Option<ControlPlane> {
    let assets = envtest::assets_or_skip()?;
    let plane = tokio::task::spawn_blocking(move || ControlPlane::start(&assets, options))
        .await
        .expect("the start task")
        .unwrap_or_else(|e| panic!("a control plane of the test's own: {e}"));
    Some(plane)
}

/// A tenant named `<prefix>-<random>` with room for a few clusters.
pub fn tenant(prefix: &str) -> TenantTarget {
    TenantTarget {
        tenant_id: Uuid::new_v4(),
        tenant_name: unique_name(prefix),
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

/// The default spec of a cluster named `name` (database and owner named alike), deleted with
/// its backups (the default, keeping them, is the retained-backups flow of issue 17's defects
/// 1 and 2, which these tests do not exercise).
pub fn spec(name: &str) -> ClusterSpec {
    let mut spec =
        ClusterSpec::from_request(ClusterRequest::named(name)).expect("the default spec is valid");
    spec.deletion_policy = DeletionPolicy::DeleteBackups;
    spec
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

/// Polls `probe` every 50 ms until it returns `Some`, or panics after `timeout` naming `what`.
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `Status` of a refused request (panics on success or another kind of error).
pub fn api_status<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error Status, got {other:?}"),
    }
}

/// A running watch of the driver (each wait bounded by [`WAIT`]).
pub type Watch = pgplane_tests::watch::DriverWatch;

/// Ensures `tenant` and waits until the quota controller has counted its ResourceQuota (its
/// `status.used` has PostgresClusters). Until then quota admission refuses every create of a
/// counted resource with 403 "status unknown for quota" (`quota.rs` shows it); tests about
/// something else start from a counted quota.
pub async fn ensure_counted(env: &Env<'_>, tenant: &TenantTarget) {
    use k8s_openapi::api::core::v1::ResourceQuota;
    use pgplane::platform::Platform;
    env.platform
        .ensure_tenant(tenant)
        .await
        .expect("tenant ensured");
    let quotas: Api<ResourceQuota> = Api::namespaced(env.plane.client(), &env.namespace_of(tenant));
    eventually(WAIT, "the tenant quota counted", || async {
        let quota = quotas.get(TENANT_QUOTA).await.ok()?;
        let used = quota.status?.used?;
        used.contains_key(envtest::POSTGRESCLUSTER_COUNT)
            .then_some(())
    })
    .await;
}

/// The tenant ResourceQuota's name (the driver's).
pub const TENANT_QUOTA: &str = pgplane::platform::kubernetes::tenant::QUOTA_NAME;

/// Applies `target` as a job worker would: again while the driver calls the failure temporary,
/// never past a `Rejected` (panics with it) or [`WAIT`].
pub async fn apply_until_admitted(env: &Env<'_>, target: &ClusterTarget) {
    use pgplane::platform::{Platform, PlatformError};
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match env.platform.apply_cluster(target).await {
            Ok(()) => return,
            Err(PlatformError::Rejected(e)) => panic!("the driver gave up on the apply: {e}"),
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the apply still fails after {WAIT:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
