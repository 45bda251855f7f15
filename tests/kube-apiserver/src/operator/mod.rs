//! A simulated Crunchy Postgres Operator (PGO v5.8/v6 behaviour): watches PostgresClusters,
//! PGUpgrades, user Secrets and repository claims through the HTTP API (as `User-Agent:
//! pgo-simulated-operator`, field manager `postgres-operator`; PGUpgrade status as
//! `pgupgrade-controller`; StatefulSet status as `kube-controller-manager`) and writes what PGO
//! writes, on a timeline set by a per-cluster [`Scenario`]. It models PGO's windows, not only its
//! happy path: each behaviour names the PGO function it follows (in the module that plays it).
//! Each day-2 flow acts only when its trigger annotation's *value* changes, as PGO does, so a
//! caller writes a fresh value (e.g. an operation id) per request and matches completion on it.
//!
//! # Reconcile order (PGO's `Reconcile`, see `reconcile.rs`)
//!
//! `handleDelete` first (a cluster being deleted never re-applies anything; after the
//! scenario's delay its children and Pods go and the finalizer is removed), then the finalizer,
//! then `spec.paused` (condition `Progressing` False `Paused`, nothing else), then the data
//! source (`clone.rs`: an early return until a clone's data is restored), then everything else.
//!
//! # Children (server-side apply, controller ownerReference to the cluster, `.../cluster`)
//!
//! - the finalizer `postgres-operator.crunchydata.com/finalizer` (merge patch);
//! - Services `<cluster>-primary` (headless, port `postgres`), `<cluster>-replicas`
//!   (selector role `replica`) and, with `spec.proxy.pgBouncer`, `<cluster>-pgbouncer`;
//! - Secret `<cluster>-cluster-cert` unless `spec.customTLSSecret` is set;
//! - Secret `<cluster>-pguser-<user>` per `spec.users[]` (or one user named after the cluster)
//!   with `user`, `password`, `verifier` (a real SCRAM-SHA-256 verifier, see
//!   [`scram_verifier_matches`]), `host`, `port`, and with a database `dbname`, `uri`,
//!   `jdbc-uri` (plus the `pgbouncer-*` keys with the pooler). Passwords follow PGO's policy
//!   (`spec.users[].password.type: AlphaNumeric`, else ASCII with punctuation; `uri` escapes
//!   the user and password as Go's `url.UserPassword`). Secrets of removed users are deleted.
//! - one `apps/v1` StatefulSet per instance, `<cluster>-<set>-<4 chars>` (`statefulsets.rs`,
//!   PGO's `generateInstanceStatefulSetIntent`/`reconcileInstance`): labels `.../cluster`,
//!   `.../instance-set`, `.../instance`, `.../data=postgres`, `updateStrategy: OnDelete`,
//!   `replicas` 1 (0 while shut down), `spec.template` with the `database` container's image
//!   and the set's resources. The simulated operator also plays the StatefulSet controller:
//!   `status` (`observedGeneration`, `replicas`, `readyReplicas`, `currentReplicas`,
//!   `updatedReplicas`, `availableReplicas`, `currentRevision` = the first revision, never
//!   moved under OnDelete, `updateRevision` = `<sts>-<hash of the template>`) follows a changed
//!   spec after [`Scenario::statefulset_status_delay`]. Deleted for a removed instance (PGO's
//!   `deleteInstance`) and while a restore (in place or from a data source) is prepared or runs.
//! - instance Pods `<instance>-0` (`instances.rs`), controlled by their StatefulSet (its uid):
//!   labels `.../instance` (the StatefulSet name `spec.patroni.switchover.targetInstance`
//!   takes), `.../instance-set`, `.../data=postgres`, `controller-revision-hash` (the revision
//!   the Pod was created from), Patroni's `.../role` ([`ROLE_LEADER`] `master` /
//!   [`ROLE_REPLICA`] `replica`, while PostgreSQL runs) and Patroni's `status` annotation (JSON
//!   with `role`, `state`, `timeline`, `"pending_restart":true` when flagged); `Ready` while
//!   PostgreSQL runs and Patroni is not restarting it. The `database` container has the image
//!   and resources of the Pod's revision.
//! - PersistentVolumeClaim `<cluster>-<repoName>` per `spec.backups.pgbackrest.repos[]` entry
//!   with a `volume` (PGO's `naming.PGBackRestRepoVolume`, applied by `reconcileRepos`; see
//!   `reconcile/claims.rs`), labelled `.../cluster`, `.../pgbackrest=""`,
//!   `.../pgbackrest-repo=<repoName>`, `.../pgbackrest-volume=""`, `spec` = the repo's
//!   `volume.volumeClaimSpec`, Bound through `/status`. Its controller ownerReference is put
//!   back within milliseconds whenever it is removed from a live, unpaused cluster's claim; it
//!   is never re-owned while the cluster is being deleted nor deleted by the operator then (the
//!   garbage collector takes it through the ownerReference, so only a claim detached *after* the
//!   deletion began survives). The next cluster of that name adopts a claim left behind, with
//!   the dead cluster's stanza and backups in it, and stanza creation `stanza-upgrade`s over
//!   them (`backups.rs`). A repo dropped from `repos[]` loses its claim; with `spec.backups`
//!   removed only with `postgres-operator.crunchydata.com/authorizeBackupRemoval: "true"`
//!   (PGO's `cleanupRepoResources`); claims not owned by the cluster are never touched.
//! - PersistentVolumeClaim `<instance>-pgdata` per instance (`reconcile/volumes.rs`, PGO's
//!   `reconcilePostgresDataVolume`), `spec` = the set's `dataVolumeClaimSpec`, mounted by the
//!   instance Pod; Bound at once, and grown by the simulated storage side (condition
//!   `Resizing`, then the new `status.capacity` after [`Scenario::volume_growth`]) when the
//!   apiserver let the request grow (`allowVolumeExpansion` on its StorageClass); a refused
//!   growth is a Warning Event `PersistentVolumeError`. Deleted with its instance.
//! - core/v1 Events (source [`EVENT_SOURCE`]) for what PGO reports as Events: `StanzasCreated`,
//!   `UnableToCreateStanzas`, `InvalidBackupRepo`, `StanzaNotCreated`, `InvalidManualBackup`,
//!   `InvalidDataSource`, `PersistentVolumeError`.
//!
//! # Status (server-side apply on `/status`, see `status.rs`)
//!
//! Right away `instances[]` with the set names; then, [`Scenario::ready_after`] after each new
//! generation, `observedGeneration`, `instances[]` as PGO's `observeInstances` counted them at
//! the start of its last reconcile (a Pod is updated only while its StatefulSet's status is
//! current and names the Pod's revision: see `rolling.rs` for why they say "updated" before
//! anything rolled), `pgbackrest` (`repos[]`, `repoHost`, `manualBackup`, `restore`,
//! `scheduledBackups`), `proxy.pgBouncer`, `patroni`, `usersRevision`/`databaseRevision`,
//! `postgresVersion` (only after a PGUpgrade), `startupInstance(Set)`, `monitoring`, and PGO's
//! conditions (`Progressing` False `Paused` while paused). A clone whose data is not restored
//! yet reports only `instances`, `pgbackrest.restore`, `startupInstance(Set)` and its
//! conditions: no `observedGeneration`.
//!
//! # Day-2 flows (details in each module)
//!
//! - Rollouts (`rolling.rs`, `runners.rs`; PGO's `observeInstances`, `reconcileInstance`,
//!   `rolloutInstances`, `rolloutInstance`): any change of the pod template (`spec.image`, e.g.
//!   a minor upgrade, or the set's resources) is first *reported* — the new
//!   `observedGeneration` with every instance updated and Ready — while every Pod still runs
//!   the old template, for [`Scenario::reobserve_delay`]; the StatefulSets' status follows
//!   after [`Scenario::statefulset_status_delay`]; then Pods are recreated one at a time,
//!   replicas first, each not Ready for [`Scenario::restart_duration`], the primary last after
//!   a switchover to an updated replica (timeline + 1). An image in
//!   [`Scenario::unpullable_images`] or of another major than the data stops the roll at its
//!   first Pod; a new template recreates that Pod at once. [`SimulatedOperator::restarts`]
//!   lists the recreated Pods in order. Done is each Pod on its StatefulSet's current
//!   `updateRevision` and Ready.
//! - Parameters that need a restart (`parameters.rs`; Patroni's `pending_restart`, PGO's
//!   `handlePatroniRestarts`): `spec.config.parameters` (or the Patroni dynamic configuration)
//!   changing one of [`RESTART_PARAMETERS`] is reported at once; replicas flag
//!   `pending_restart` after [`Scenario::patroni_loop_wait`], the primary a loop later; PGO
//!   restarts the flagged primary, else the flagged replicas, in place (Pods not Ready for
//!   [`Scenario::restart_duration`]), which clears the flag.
//! - Clone (`clone.rs`; PGO's `reconcileDataSource`, `reconcilePostgresClusterDataSource`):
//!   `spec.dataSource.postgresCluster {clusterName, repoName, options}` restores the source's
//!   repository with a Job that retries (7 attempts) until the source has what the options ask;
//!   the clone has the source's system identifier, the next timeline, then its own stanza and
//!   first backup; a failed Job leaves it uninitialized (`PostgresDataInitialized` False
//!   `PGBackRestRestoreFailed`).
//! - Manual backup (`manual.rs`): [`BACKUP_ANNOTATION`] + `spec.backups.pgbackrest.manual
//!   {repoName, options}`; waits for the first full backup; `--type=full|diff|incr`.
//! - In-place restore (`restore.rs`): [`RESTORE_ANNOTATION`] + `spec.backups.pgbackrest.restore
//!   {enabled: true, repoName, options}`; instances stop, `restore` reports the Job; a target
//!   outside what the repository holds fails (`PostgresDataInitialized` False
//!   `PGBackRestRestoreFailed`) and the instances stay down.
//! - Switchover (`switchover.rs`): [`SWITCHOVER_ANNOTATION`] + `spec.patroni.switchover
//!   {enabled: true, targetInstance?, type?}` -> `status.patroni.switchover`; an unknown target
//!   or a single instance never completes and records no Event (PGO only logs an error).
//! - Password regeneration: emptying `password` (or deleting the Secret) makes a new password
//!   and verifier; a new `password` with an empty `verifier` gets its verifier. PGO reconciles
//!   on the Secret change; `usersRevision` changes once PostgreSQL runs.
//! - Major upgrade (`upgrade.rs`): a `PGUpgrade` plus [`ALLOW_UPGRADE_ANNOTATION`] and
//!   `spec.shutdown: true`; conditions `Progressing`/`Succeeded` with PGO's reasons; the
//!   cluster's `status.postgresVersion` then shows the new version, before the user bumps
//!   `spec.postgresVersion`.
//! - Backups list (`repository.rs`): `pgbackrest info --output=json` (also `--stanza=db`)
//!   through `pods/exec` in the `database` container of a running instance Pod prints the
//!   stanza [`STANZA`] of the cluster's repositories, exactly what pgplane reads with
//!   `Api::<Pod>::exec` against a real cluster. [`SimulatedOperator::backup_info`] (or the
//!   cloneable [`PgBackRestInfo`]) returns the same JSON without a request.
//! - Extensions (`exec.rs`): psql with argv [`PSQL_ARGV`] `-d <database> -c <sql>` through
//!   `pods/exec`: the extension statements and `SELECT pg_is_in_recovery()`, see `exec.rs`.
//! - Streaming standby and promotion (`standby.rs`, `upstream.rs`, `recovery.rs`):
//!   `spec.standby {enabled, host: <source>-primary.<ns>.svc, port}`, see `standby.rs`.
//!
//! Failures come from the [`Scenario`] knobs (`manual_backups_fail`, `restores_fail`,
//! `upgrades_fail`, `promotion_stalls`, `stanza_create_fails`, `unpullable_images`) or from the
//! request itself (an unknown repo, a rejected option, a target without WAL). Simulated Jobs
//! take [`Scenario::job_duration`] per Pod attempt and fail like Kubernetes Jobs (backoff limit
//! 6: `failed` counts to 7; the upgrade Job: 0).
//!
//! # Not modelled
//!
//! Retention (`expire`, which over an adopted repository would expire the dead cluster's
//! backups too) and backup sizes that mean anything; backups taken by the CronJobs beyond the
//! first run per schedule; WAL archiving between backups (the archive's newest segment moves
//! with backups, switchovers and restores); cloud repositories (`dataSource.pgbackrest`) and
//! standbys that follow a repository (`spec.standby.repoName` alone never bootstraps); PGO
//! re-bootstrapping a cloned cluster whose `status.pgbackrest.restore.id` no longer is its
//! bootstrap id; WAL volume claims, PersistentVolumes, the `PersistentVolumeResizing`
//! conditions and a claim's binding beyond Bound at once; the repository host StatefulSet and PGO's `BackupsMissing`-style Events; pod template
//! content beyond the `database` container's image and resources (sidecars, volumes, probes);
//! graceful Pod termination (PGO never sees a terminating Pod); client-go's Event aggregation;
//! Patroni's failover on a lost primary; SQL beyond the statements `exec.rs` answers, and
//! commands in the repository host or other containers (instance Pods have only `database`).
//! While paused, the simulated Kubernetes side (Pods being recreated or restarted) pauses too.
//! On deletion, after the scenario's delay, the operator deletes its children (not the
//! repository claims or StatefulSets, which the garbage collector takes) and Pods, forgets the
//! cluster's repository (keeping it with a claim that survives) and removes the finalizer (and
//! its recorded restarts).

mod backups;
mod children;
mod clone;
mod clusterset;
mod credentials;
mod events;
mod exec;
mod instances;
mod jobs;
mod manual;
mod parameters;
mod reconcile;
mod recovery;
mod repository;
mod restore;
mod rolling;
mod runners;
mod scenario;
mod sim;
mod standby;
mod statefulsets;
mod status;
mod switchover;
mod upgrade;
mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{ApiResource, GroupVersionKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use clusterset::{CLUSTERSET_DOMAIN, ClusterSet};
pub use credentials::scram_verifier_matches;
pub use events::EVENT_SOURCE;
pub use exec::{EXTENSION_CATALOG, PSQL_ARGV};
pub use instances::{ROLE_LEADER, ROLE_REPLICA};
pub use parameters::RESTART_PARAMETERS;
pub use repository::STANZA;
pub use restore::RESTORE_ANNOTATION;
pub use scenario::{Deletion, Outcome, Scenario};
pub use status::BACKUP_ANNOTATION;
pub use switchover::SWITCHOVER_ANNOTATION;
pub use upgrade::ALLOW_UPGRADE_ANNOTATION;

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
    /// The multi-cluster clusterset this operator's Kubernetes cluster belongs to, if any
    /// (standbys following sources in other test API servers).
    pub clusterset: Option<ClusterSet>,
}

impl Default for OperatorOptions {
    fn default() -> Self {
        Self {
            scenario: Scenario::healthy(),
            resync: Duration::from_millis(20),
            clusterset: None,
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

/// Scenarios and repositories shared between the handle and the control loop.
pub(crate) struct Shared {
    default: Mutex<Scenario>,
    overrides: Mutex<HashMap<(String, String), Scenario>>,
    /// The pgBackRest repositories per (namespace, cluster).
    repositories: Mutex<HashMap<(String, String), repository::Repository>>,
    /// What exec commands see per (namespace, cluster): databases and their extensions.
    data: Mutex<HashMap<(String, String), exec::ClusterData>>,
    /// Rolling-update restarts per (namespace, cluster), see [`SimulatedOperator::restarts`].
    restarts: rolling::Restarts,
    /// The clusterset the operator's Kubernetes cluster belongs to, if any.
    clusterset: Option<ClusterSet>,
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

    /// Refreshes what exec commands know of the cluster (its databases, port, version).
    pub(crate) fn remember_cluster(&self, c: &children::Cluster<'_>) {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.entry((c.namespace.to_string(), c.name.to_string()))
            .or_default()
            .facts = exec::ClusterFacts::of(c);
    }
}

/// A running simulated operator; dropping it stops it.
pub struct SimulatedOperator {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
    /// The exec handler registered with the server, removed when the operator stops.
    exec: Option<(crate::exec::ExecHandlers, crate::exec::ExecHandlerId)>,
}

impl SimulatedOperator {
    /// Starts the operator against `server` (it talks HTTP with its own client) and answers
    /// `pods/exec` in its instance Pods.
    pub fn start(server: &TestApiServer, options: OperatorOptions) -> SimulatedOperator {
        let client = server.client_with(|config| {
            config.headers.push((
                axum::http::header::USER_AGENT,
                axum::http::HeaderValue::from_static(USER_AGENT),
            ));
        });
        let mut operator = SimulatedOperator::start_with_client(client, options);
        let exec_handlers = server.exec_handlers();
        let exec_handler = exec_handlers.add(exec::handler(operator.shared.clone()));
        operator.exec = Some((exec_handlers, exec_handler));
        operator
    }

    /// Starts the operator against any API server `client` talks to (e.g. a real
    /// kube-apiserver), as a controller that only watches and writes through the API. The
    /// client should send `User-Agent:` [`USER_AGENT`], as [`SimulatedOperator::start`]'s
    /// does. Nothing answers `pods/exec` here: a real API server execs through a kubelet.
    pub fn start_with_client(client: kube::Client, options: OperatorOptions) -> SimulatedOperator {
        let shared = Arc::new(Shared {
            default: Mutex::new(options.scenario),
            overrides: Mutex::new(HashMap::new()),
            repositories: Mutex::new(HashMap::new()),
            data: Mutex::new(HashMap::new()),
            restarts: Mutex::new(HashMap::new()),
            clusterset: options.clusterset.clone(),
        });
        let cancel = CancellationToken::new();
        let controller = reconcile::Controller::new(client, shared.clone(), options.clusterset);
        let task = tokio::spawn(controller.run(options.resync, cancel.clone()));
        SimulatedOperator {
            shared,
            cancel,
            task: Some(task),
            exec: None,
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

    /// What `pgbackrest info --output=json` prints in the repository host of the cluster
    /// `namespace/name` (PGO's stanza `db`, every repository of the spec): the same JSON
    /// `pods/exec` of `pgbackrest info --output=json` prints in an instance Pod, without a
    /// request. `None` when the operator has not seen the cluster (or it was deleted, which
    /// drops its repositories).
    pub fn backup_info(&self, namespace: &str, name: &str) -> Option<serde_json::Value> {
        self.pgbackrest().info(namespace, name)
    }

    /// A cloneable handle to [`SimulatedOperator::backup_info`] (to hand to code that outlives
    /// a borrow of the operator, e.g. behind a trait object in a test platform).
    pub fn pgbackrest(&self) -> PgBackRestInfo {
        PgBackRestInfo {
            shared: self.shared.clone(),
        }
    }

    /// The instance Pods the rollouts of the cluster `namespace/name` recreated, in order:
    /// (Pod name, image of the template it was recreated from). A changed pod template
    /// recreates the replicas first and the (former) primary last, after a switchover; a
    /// rollback from an image that cannot be pulled recreates that Pod again. First starts,
    /// scaling, shutdowns and Patroni restarts (parameters) are not listed. Empty when unknown;
    /// forgotten when the cluster is deleted.
    pub fn restarts(&self, namespace: &str, name: &str) -> Vec<(String, String)> {
        self.shared
            .restarts
            .lock()
            .ok()
            .and_then(|r| r.get(&(namespace.to_string(), name.to_string())).cloned())
            .unwrap_or_default()
    }

    /// Whether the primary of the cluster `namespace/name` is in recovery (a streaming standby
    /// that has not promoted: `pg_is_in_recovery()` is `t`), as of its last reconcile. `None`
    /// before PostgreSQL first started (e.g. a standby still waiting for its source) or when
    /// unknown.
    pub fn in_recovery(&self, namespace: &str, name: &str) -> Option<bool> {
        self.shared
            .recovery(&(namespace.to_string(), name.to_string()))
            .filter(|r| r.system_identifier.is_some())
            .map(|r| r.in_recovery)
    }

    /// Why the standby `namespace/name` has not bootstrapped from its source (what Patroni
    /// or PGO would log, e.g. a certificate verification failure), or `None` when it is not
    /// a waiting standby.
    pub fn standby_waiting_for(&self, namespace: &str, name: &str) -> Option<String> {
        self.shared
            .recovery(&(namespace.to_string(), name.to_string()))
            .and_then(|r| r.waiting_for)
    }

    /// Stops the control loop and waits for it.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some((handlers, id)) = self.exec.take() {
            handlers.remove(id);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// `pgbackrest info --output=json` of the simulated clusters (see
/// [`SimulatedOperator::backup_info`]); it keeps answering after the operator stopped.
#[derive(Clone)]
pub struct PgBackRestInfo {
    shared: Arc<Shared>,
}

impl PgBackRestInfo {
    /// The stanza array of the cluster `namespace/name`, or `None` when unknown.
    pub fn info(&self, namespace: &str, name: &str) -> Option<serde_json::Value> {
        let repos = self.shared.repositories.lock().ok()?;
        repos
            .get(&(namespace.to_string(), name.to_string()))
            .map(repository::Repository::info)
    }
}

impl std::fmt::Debug for PgBackRestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgBackRestInfo")
    }
}

impl Drop for SimulatedOperator {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some((handlers, id)) = self.exec.take() {
            handlers.remove(id);
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
