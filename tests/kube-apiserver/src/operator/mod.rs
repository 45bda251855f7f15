//! A simulated Crunchy Postgres Operator: watches PostgresClusters through the HTTP API and
//! writes what PGO writes (finalizer, Services, Secrets, `status`), on a timeline set by a
//! [`Scenario`]. See [`children`] and [`status`] for exactly what is written.

mod children;
mod credentials;
mod reconcile;
mod scenario;
mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{ApiResource, GroupVersionKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use scenario::{Deletion, Outcome, Scenario};
pub use status::BACKUP_ANNOTATION;

use crate::server::TestApiServer;

/// The `User-Agent` of the simulated operator's client (its requests are recognisable in the
/// request log, and exempt from faults unless [`crate::FaultTarget::include_operator`]).
pub const USER_AGENT: &str = "pgo-simulated-operator";
/// The field manager of the simulated operator's writes (PGO's).
pub const FIELD_MANAGER: &str = "postgres-operator";
/// The finalizer PGO puts on every PostgresCluster.
pub const FINALIZER: &str = "postgres-operator.crunchydata.com/finalizer";

pub(crate) fn postgrescluster_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(crate::resources::PGO_GROUP, "v1beta1", "PostgresCluster"),
        "postgresclusters",
    )
}

/// Options of a [`SimulatedOperator`].
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    /// The scenario of clusters without a per-cluster override.
    pub scenario: Scenario,
    /// How often every cluster is reconciled even without a watch event.
    pub resync: Duration,
}

impl Default for OperatorOptions {
    fn default() -> Self {
        Self { scenario: Scenario::healthy(), resync: Duration::from_millis(20) }
    }
}

impl OperatorOptions {
    /// Options with `scenario` as the default scenario.
    pub fn with_scenario(scenario: Scenario) -> Self {
        Self { scenario, ..Self::default() }
    }
}

/// Scenarios shared between the handle and the control loop.
pub(crate) struct Shared {
    default: Mutex<Scenario>,
    overrides: Mutex<HashMap<(String, String), Scenario>>,
}

impl Shared {
    pub(crate) fn scenario_for(&self, namespace: &str, name: &str) -> Scenario {
        let key = (namespace.to_string(), name.to_string());
        if let Ok(o) = self.overrides.lock()
            && let Some(s) = o.get(&key)
        {
            return s.clone();
        }
        self.default.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// A running simulated operator; dropping it stops it.
pub struct SimulatedOperator {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl SimulatedOperator {
    /// Starts the operator against `server` (it talks HTTP with its own client).
    pub fn start(server: &TestApiServer, options: OperatorOptions) -> SimulatedOperator {
        let client = server.client_with(|config| {
            config.headers.push((
                axum::http::header::USER_AGENT,
                axum::http::HeaderValue::from_static(USER_AGENT),
            ));
        });
        let shared = Arc::new(Shared { default: Mutex::new(options.scenario), overrides: Mutex::new(HashMap::new()) });
        let cancel = CancellationToken::new();
        let controller = reconcile::Controller::new(client, shared.clone());
        let task = tokio::spawn(controller.run(options.resync, cancel.clone()));
        SimulatedOperator { shared, cancel, task: Some(task) }
    }

    /// Uses `scenario` for the cluster `namespace/name` (takes effect on the next reconcile).
    pub fn set_scenario(&self, namespace: &str, name: &str, scenario: Scenario) {
        if let Ok(mut o) = self.shared.overrides.lock() {
            o.insert((namespace.to_string(), name.to_string()), scenario);
        }
    }

    /// Changes the scenario of clusters without an override.
    pub fn set_default_scenario(&self, scenario: Scenario) {
        if let Ok(mut d) = self.shared.default.lock() {
            *d = scenario;
        }
    }

    /// Stops the control loop and waits for it.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimulatedOperator {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
