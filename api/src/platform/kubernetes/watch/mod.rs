//! The status watch: three `kube::runtime::watcher` streams over all namespaces, label-selected
//! to what pgplane manages, folded into [`PlatformEvent`]s by `state::WatchState`.
//!
//! | stream | selector | why |
//! |---|---|---|
//! | PostgresClusters | `app.kubernetes.io/managed-by=pgplane` | status, generation, deletion |
//! | Secrets | `…managed-by=pgplane,postgres-operator.crunchydata.com/cluster` | user and CA Secrets (kept: `role=pguser` or `cluster-certificate`) |
//! | Services | `…managed-by=pgplane,postgres-operator.crunchydata.com/role=replica` | the replica endpoint |
//!
//! PGO copies `spec.metadata.labels` (which carry pgplane's labels) onto everything it creates,
//! so the child watches see only pgplane's objects. No request is made per event: the Secrets
//! and Services are in memory, and a change to them (a rotated password) is reported without
//! waiting for the cluster to change. Cluster events are held back until both child caches have
//! a first full list (or failed once), so the first `Resynced` comes with connection facts.
//!
//! Each stream relists on 410 Expired and re-watches dropped streams with kube's default
//! backoff; errors are logged and never end the watch. It ends when `cancel` fires or the
//! receiver is dropped.

mod cache;
mod observe;
mod state;

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::labels::{PGO_CLUSTER, PGO_ROLE, PGO_ROLE_REPLICA, managed_selector};
use super::resources::postgrescluster;
use crate::platform::{PlatformError, PlatformEvent};
use state::WatchState;

pub use observe::cluster_cert_secret_name;

type Events<K> = BoxStream<'static, Result<watcher::Event<K>, watcher::Error>>;

fn stream<K>(api: Api<K>, selector: &str) -> Events<K>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher(api, watcher::Config::default().labels(selector))
        .default_backoff()
        .boxed()
}

/// Label selectors of the three watches: (clusters, secrets, services).
pub fn selectors() -> (String, String, String) {
    let managed = managed_selector();
    (
        managed.clone(),
        format!("{managed},{PGO_CLUSTER}"),
        format!("{managed},{PGO_ROLE}={PGO_ROLE_REPLICA}"),
    )
}

/// What the loop does after one stream item.
enum Step {
    Report(Vec<PlatformEvent>),
    Stop(Result<(), PlatformError>),
}

/// Handles one item of the stream named `stream`: an event goes to `on`, an error is logged
/// (the watcher retries by itself with backoff) and marks the stream as `failed`.
fn step<K>(
    item: Option<Result<watcher::Event<K>, watcher::Error>>,
    stream: &'static str,
    failed: &mut bool,
    on: impl FnOnce(watcher::Event<K>) -> Vec<PlatformEvent>,
) -> Step {
    match item {
        Some(Ok(event)) => Step::Report(on(event)),
        Some(Err(error)) => {
            *failed = true;
            tracing::warn!(stream, %error, "platform watch error; the watcher retries with backoff");
            Step::Report(Vec::new())
        }
        None => Step::Stop(Err(PlatformError::Transient(format!(
            "the Kubernetes watch of {stream} ended"
        )))),
    }
}

/// Runs the watch until `cancel` fires (see the module docs).
pub async fn run(
    client: kube::Client,
    events: mpsc::Sender<PlatformEvent>,
    cancel: CancellationToken,
) -> Result<(), PlatformError> {
    let (cluster_selector, secret_selector, service_selector) = selectors();
    let mut clusters = stream(
        Api::<DynamicObject>::all_with(client.clone(), &postgrescluster()),
        &cluster_selector,
    );
    let mut secrets = stream(Api::<Secret>::all(client.clone()), &secret_selector);
    let mut services = stream(Api::<Service>::all(client), &service_selector);
    let mut state = WatchState::default();
    let (mut secrets_failed, mut services_failed) = (false, false);
    loop {
        let (secrets_ready, services_ready) = state.children_ready();
        let children_settled =
            (secrets_ready || secrets_failed) && (services_ready || services_failed);
        let next = tokio::select! {
            biased;
            () = cancel.cancelled() => Step::Stop(Ok(())),
            item = secrets.next() => {
                step(item, "secrets", &mut secrets_failed, |e| state.on_secret(e))
            }
            item = services.next() => {
                step(item, "services", &mut services_failed, |e| state.on_service(e))
            }
            item = clusters.next(), if children_settled => {
                step(item, "postgresclusters", &mut false, |e| state.on_cluster(e))
            }
        };
        let out = match next {
            Step::Report(out) => out,
            Step::Stop(result) => return result,
        };
        for event in out {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                sent = events.send(event) => if sent.is_err() {
                    return Ok(());
                },
            }
        }
    }
}
