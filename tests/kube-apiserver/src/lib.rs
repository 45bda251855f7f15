//! An in-process Kubernetes API server for tests, speaking the real REST protocol over HTTP,
//! with the Crunchy Data Postgres Operator (PGO) custom resources validated against the real
//! PGO v5.8.9 and v6.0.3 `v1beta1` schemas, and a simulated PGO that reconciles them.
//!
//! Tests drive it with the real `kube` client (`Api`, server-side apply, `runtime::watcher`),
//! so the code under test exercises the same client stack it uses against a real cluster.
//!
//! # Usage
//!
//! ```
//! use kube::api::{Api, DynamicObject, Patch, PatchParams};
//! use kube_test_apiserver::operator::{OperatorOptions, Scenario, SimulatedOperator};
//! use kube_test_apiserver::{ServerOptions, TestApiServer, Verb};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = TestApiServer::start(ServerOptions::default()).await.unwrap();
//! let _operator = SimulatedOperator::start(&server, OperatorOptions::with_scenario(Scenario::healthy()));
//! let client: kube::Client = server.client(); // plain HTTP to 127.0.0.1:<port>
//!
//! let clusters: Api<DynamicObject> = Api::namespaced_with(
//!     client,
//!     "default",
//!     &kube_test_apiserver::postgrescluster_resource(),
//! );
//! let manifest = serde_json::json!({
//!     "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
//!     "kind": "PostgresCluster",
//!     "metadata": { "name": "hippo" },
//!     "spec": {
//!         "postgresVersion": 17,
//!         "instances": [{ "dataVolumeClaimSpec": {
//!             "accessModes": ["ReadWriteOnce"],
//!             "resources": { "requests": { "storage": "1Gi" } }
//!         } }]
//!     }
//! });
//! clusters.patch("hippo", &PatchParams::apply("pgplane"), &Patch::Apply(manifest)).await.unwrap();
//!
//! // The simulated operator reports the cluster ready after its scenario's delay.
//! loop {
//!     let c = clusters.get("hippo").await.unwrap();
//!     if c.data["status"]["instances"][0]["readyReplicas"] == 1 { break; }
//!     tokio::time::sleep(std::time::Duration::from_millis(20)).await;
//! }
//! // The request log tells pgplane's requests from the operator's.
//! let log = server.requests();
//! let first = log.iter().find(|r| !r.is_from_operator()).unwrap();
//! assert_eq!((first.verb, first.resource.as_str(), first.code), (Verb::Patch, "postgresclusters", 201));
//! # }
//! ```
//!
//! Other ways in: [`TestApiServer::kubeconfig_yaml`] / [`TestApiServer::write_kubeconfig`]
//! (for code that loads a kubeconfig), [`TestApiServer::client_from_kubeconfig`],
//! [`TestApiServer::client_with`] (timeouts, retries, headers), and
//! [`validation::validate_postgrescluster`] to check a manifest without a server.
//!
//! # What is served
//!
//! `namespaces` (cluster-scoped), `secrets`, `configmaps`, `services`, `pods`,
//! `persistentvolumeclaims` (short name `pvc`; admission requires non-empty
//! `spec.accessModes` and a positive `spec.resources.requests.storage` quantity, a new claim
//! is `Pending` and carries the `kubernetes.io/pvc-protection` finalizer; without a
//! `storageClassName` it gets the default StorageClass; its `storage` request grows only while
//! Bound on a StorageClass with `allowVolumeExpansion`, else 403 as upstream's
//! `PersistentVolumeClaimResize` admission), `events`,
//! `resourcequotas`, `limitranges` (core/v1); `apps/v1 statefulsets`
//! (short name `sts`, with `status`; `metadata.generation` bumped on spec changes; the
//! simulated operator writes the instance StatefulSets and, as the StatefulSet controller, their
//! status); `networking.k8s.io/v1 networkpolicies`; `coordination.k8s.io/v1 leases`;
//! `storage.k8s.io/v1 storageclasses` (cluster-scoped; `provisioner` required and immutable);
//! `postgres-operator.crunchydata.com/v1beta1 postgresclusters` and `pgupgrades` (with
//! `status`; also `namespaces`, `services`, `pods`, `persistentvolumeclaims`, `resourcequotas`).
//! Verbs: get, list, watch, create, update, patch (JSON, merge, strategic-merge, apply), delete,
//! deletecollection; `pods/exec` over WebSocket (`v5.channel.k8s.io`/`v4.channel.k8s.io`, the
//! kubelet's exit Status), answered by the handlers of [`TestApiServer::add_exec_handler`] and
//! the simulated operator's (`pgbackrest info`, psql extension statements: see [`operator`]).
//! Discovery (`/api`, `/apis`, per group version, aggregated v2), `/version`, `/healthz`.
//!
//! # Known deviations from a real kube-apiserver
//!
//! - No authentication or authorization; every request is allowed. The request log
//!   ([`TestApiServer::requests`], [`rbac_rules`]) records what RBAC would have checked.
//! - `fieldValidation` defaults to `Strict` (the apiserver's default is `Warn`), so a
//!   misspelt field fails the test that sends it; `Warn` and `Ignore` behave as upstream.
//!   Strict unknown-field errors of creates and updates are 400s like upstream, but also carry
//!   `details.causes` with reason `FieldValueUnknown` (an addition; upstream puts the paths
//!   only in the message).
//! - A server-side apply naming a field the schema lacks is, as upstream, a 500 without a
//!   reason (`failed to create typed patch object (<ns>/<name>; <group>/<version>,
//!   Kind=<Kind>): .spec.instances[name="instance1"].replica: field not declared in schema`),
//!   whatever `fieldValidation` says. A custom resource is typed against both PGO schemas (a
//!   field only one lacks names that schema after the message). Upstream's typed conversion
//!   also fails values of the wrong type and unknown fields set to `null`; here those reach
//!   admission (422, or pruned).
//! - Strategic merge patch on built-in types is applied as a JSON merge patch (lists replaced,
//!   `$patch` directives ignored). On custom resources it is 415, exactly as upstream.
//! - Server-side apply implements structured-merge-diff's model (field sets, map-keyed lists,
//!   sets, atomic lists/maps, conflicts, force, removal of no-longer-applied fields, `Update`
//!   ownership) but not its version conversion or every corner case; list-type markers of
//!   built-in types come from a small table (Service ports, Pod containers/env/volumes,
//!   `metadata.finalizers`/`ownerReferences`, conditions), other built-in lists are atomic.
//!   Managed fields of creates/updates are computed after defaulting, so defaulted fields are
//!   owned by the writer.
//! - Built-in types are decoded, pruned and re-encoded through `k8s-openapi` structs; only a
//!   few server-side rules are modelled (Secret `stringData`/`type`/`immutable`, Service cluster
//!   IP allocation and defaults, Namespace finalizer/phase/name label, PersistentVolumeClaim
//!   access modes and storage request, NetworkPolicy `ipBlock` CIDRs, Pod requests defaulted
//!   from limits, LimitRange item defaults, name and label formats). Pods get none of the other
//!   defaults (`restartPolicy`, `dnsPolicy`, `terminationMessagePath`, ...). StatefulSets get
//!   no defaults and no validation (selector against template labels, immutable fields), and
//!   nothing runs them: no controller creates Pods or ControllerRevisions (the simulated
//!   operator plays the StatefulSet controller for its own). A claim's `spec` is not
//!   immutable, an invalid storage quantity is a 422 on `spec.resources.requests[storage]`
//!   (upstream fails decoding it, a 400), and nothing binds claims (no PersistentVolumes).
//!   Of the admission plugins only the mutations clients see run, after managed fields are
//!   recorded (so no manager owns what they set): the pvc-protection finalizer on new claims;
//!   ServiceAccount (a Pod without `serviceAccountName` runs as `default`; upstream also
//!   refuses a Pod whose ServiceAccount does not exist and mounts a `kube-api-access-*` token
//!   volume, neither modelled: there are no ServiceAccounts here); DefaultTolerationSeconds
//!   (the `not-ready`/`unreachable` NoExecute tolerations, 300 s); LimitRanger on Pod creates
//!   (a container's missing limits from `default`, missing requests from `defaultRequest`, and
//!   the `kubernetes.io/limit-ranger` annotation; `min`/`max`/ratios are not enforced, and
//!   PersistentVolumeClaim items are ignored). ResourceQuota is stored but not enforced, and
//!   no controller fills the status of either.
//! - Namespace termination and garbage collection run synchronously inside the deleting write
//!   (no controllers, no `Terminating` delay when nothing holds a finalizer). `Foreground`
//!   propagation behaves like `Background`. Graceful deletion periods are not modelled: a Pod
//!   goes at once (upstream, a scheduled Pod waits for its kubelet).
//! - The pvc-protection controller runs synchronously too: a claim being deleted loses its
//!   finalizer in the deleting write when no scheduled Pod (`spec.nodeName` set, any phase)
//!   of its namespace mounts it, else in the write that changes or removes the last such Pod
//!   (generic ephemeral volumes are not considered). So deleting an unused claim answers with
//!   the Success Status of a removal, where upstream answers with the claim marked for
//!   deletion and removes it a moment later.
//! - A watch from a resourceVersion newer than the server's starts from there instead of
//!   waiting; a list with such a version is 504 immediately. `resourceVersion=0` lists honour
//!   `limit` (the watch cache would ignore it). Bookmarks are sent every
//!   [`ServerOptions::bookmark_interval`] (upstream: about a minute). Watches without
//!   `timeoutSeconds` last until the server stops.
//! - A "too old resource version" is reported with reason `Expired` (code 410), as upstream
//!   does (a list: "The resourceVersion for the provided list is too old."); the event history
//!   is a fixed-size window ([`ServerOptions::event_window`]) rather than a time-based
//!   compaction, and [`TestApiServer::compact`] drops it on demand. There is no watch cache:
//!   after an etcd compaction upstream still serves exact lists at recent versions from its
//!   watch cache (only versions older than the cache get 410), where every list older than a
//!   [`TestApiServer::compact`] here is 410.
//! - Apply conflicts, CEL failures and NetworkPolicy CIDR errors are worded as upstream
//!   (checked against Kubernetes 1.36). With several conflicts the paths of one manager may be
//!   listed in another order than upstream's.
//! - JSON only (no protobuf, no CBOR, no `Table` output); no `attach`/`portforward`/`log`/
//!   `scale`/`finalize` subresources; exec runs the command to completion before streaming,
//!   never delivers stdin, ignores `tty`, and speaks only the v5/v4 channel subprotocols (no
//!   SPDY, no `base64.channel.k8s.io`); no Endpoints, ControllerRevisions or Jobs. Events are
//!   stored as written, without the apiserver's event aggregation or TTL.
//!
//! # CEL rules
//!
//! Every `x-kubernetes-validations` rule of both schemas is evaluated (with `kube-cel`),
//! except the one listed by [`validation::unevaluated_cel_rules`]: the v6.0.3 form of the
//! `spec` rule `!has(self.?config.parameters.ssl_groups) || self.postgresVersion > 17` (the
//! optional-field syntax `.?` is not supported by the CEL interpreter). The v5.8.9 schema has
//! the same rule written without `.?`, which is evaluated, so the check itself is enforced.
//! CEL runtime errors reject the object, as upstream.
//!
//! # `k8s-openapi` version feature
//!
//! This crate enables `k8s-openapi/v1_33` (k8s-openapi rejects two version features in one
//! build, and `cargo build` of this crate must work on its own); every crate of the workspace
//! that uses `k8s-openapi` must select the same feature.

mod admission;
mod apply;
mod deletion;
mod discovery;
mod error;
pub mod exec;
mod faults;
mod meta;
pub mod operator;
mod patch;
mod quantity;
mod request_log;
mod resources;
mod routes;
mod selectors;
mod server;
mod store;
pub mod validation;

pub use admission::FieldValidation;
pub use discovery::SERVED_KUBERNETES_VERSION;
pub use error::StatusCause;
pub use exec::{ExecHandlerId, ExecHandlers, ExecOutput, ExecRequest};
pub use faults::{FaultKind, FaultTarget, Faults};
pub use request_log::{RbacRule, RequestRecord, Verb, rbac_rules};
pub use resources::PGO_GROUP;
pub use server::{ServerOptions, TestApiServer};

/// The `kube` `ApiResource` of `postgres-operator.crunchydata.com/v1beta1 PostgresCluster`.
pub fn postgrescluster_resource() -> kube::api::ApiResource {
    operator::postgrescluster_resource()
}

/// The `kube` `ApiResource` of `postgres-operator.crunchydata.com/v1beta1 PGUpgrade`.
pub fn pgupgrade_resource() -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(PGO_GROUP, "v1beta1", "PGUpgrade"),
        "pgupgrades",
    )
}
