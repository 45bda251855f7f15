//! A simulated Crunchy Postgres Operator: watches PostgresClusters through the HTTP API (as
//! `User-Agent: pgo-simulated-operator`, field manager `postgres-operator`) and writes what PGO
//! writes, on a timeline set by a [`Scenario`]:
//!
//! - the finalizer `postgres-operator.crunchydata.com/finalizer` (merge patch);
//! - Services `<cluster>-primary` (headless, port `postgres`), `<cluster>-replicas`
//!   (selector role `replica`) and, with `spec.proxy.pgBouncer`, `<cluster>-pgbouncer` (port
//!   `pgbouncer`; deleted when the pooler is removed);
//! - Secret `<cluster>-cluster-cert` (`ca.crt`, `tls.crt`, `tls.key`: placeholder PEM blocks)
//!   unless `spec.customTLSSecret` is set;
//! - Secret `<cluster>-pguser-<user>` per `spec.users[]` entry (or one user named after the
//!   cluster when `users` is absent) with `user`, `password`, `verifier` (a real
//!   SCRAM-SHA-256 verifier), `host`, `port`, and with a database `dbname`, `uri`, `jdbc-uri`;
//!   with the pooler also `pgbouncer-host`, `pgbouncer-port`, `pgbouncer-uri`,
//!   `pgbouncer-jdbc-uri`. Passwords are kept across reconciles; secrets of removed users are
//!   deleted.
//! - every child labelled `postgres-operator.crunchydata.com/cluster` (plus `role`, `pguser`,
//!   `cluster-certificate` as PGO does, and `spec.metadata` labels/annotations) and owned by
//!   the cluster through a controller ownerReference (all written with server-side apply);
//! - `status` through server-side apply on `/status`: right away a first status with the
//!   instance sets and 0 ready replicas; then, [`Scenario::ready_after`] after each new
//!   generation, `observedGeneration`, `instances[]` (`readyReplicas` = `replicas`, or 0 when
//!   not ready or `spec.shutdown`), `pgbackrest.repos[]`/`repoHost`/`manualBackup` (when the
//!   `pgbackrest-backup` annotation and `spec.backups.pgbackrest.manual` are set)/
//!   `scheduledBackups` (one completed run per configured schedule), `proxy.pgBouncer`,
//!   `patroni.systemIdentifier`, `usersRevision`, `databaseRevision`, `postgresVersion`,
//!   `startupInstance(Set)`, `monitoring.exporterConfiguration`, and the conditions
//!   `PGBackRestRepoHostReady`, `PGBackRestReplicaRepoReady`, `PGBackRestReplicaCreate`,
//!   `PGBackRestManualBackupSuccessful` and `ProxyAvailable` (PGO declares `ProxyAvailable`
//!   but does not set it; its reasons `PgBouncerAvailable`/`PgBouncerUnavailable` are ours);
//! - on deletion, after the scenario's delay, it deletes its children and then removes the
//!   finalizer.
//!
//! PGUpgrades are not acted on.

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
        Self {
            scenario: Scenario::healthy(),
            resync: Duration::from_millis(20),
        }
    }
}

impl OperatorOptions {
    /// Options with `scenario` as the default scenario.
    pub fn with_scenario(scenario: Scenario) -> Self {
        Self {
            scenario,
            ..Self::default()
        }
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
        let shared = Arc::new(Shared {
            default: Mutex::new(options.scenario),
            overrides: Mutex::new(HashMap::new()),
        });
        let cancel = CancellationToken::new();
        let controller = reconcile::Controller::new(client, shared.clone());
        let task = tokio::spawn(controller.run(options.resync, cancel.clone()));
        SimulatedOperator {
            shared,
            cancel,
            task: Some(task),
        }
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
