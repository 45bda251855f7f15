//! The simulated operator's control loop: `kube::runtime::watcher`s on PostgresClusters,
//! PGUpgrades and user Secrets (`postgres-operator.crunchydata.com/role=pguser`) in all
//! namespaces plus a resync tick, and a level-triggered reconcile of each object through the
//! HTTP API (so its requests show up in the request log and can be hit by faults).
//!
//! Per cluster, in PGO's order (`Reconcile` in PGO's controller.go): a cluster being deleted is
//! handled first (`handleDelete`: after the scenario's delay delete the children and Pods, then
//! remove the finalizer; nothing is applied again); otherwise add the finalizer (merge patch
//! with a resourceVersion precondition); a paused cluster (`spec.paused`) gets the condition
//! `Progressing` False `Paused` and nothing else; otherwise apply the children with server-side
//! apply (field manager `postgres-operator`) when the spec changed or a user Secret was edited,
//! re-apply a repository claim whenever it lost its ownerReference to the cluster (PGO applies
//! its intent on every reconcile; a watch on the claims triggers one at once, as the owner
//! handler of PGO's watch does for the old owner of an updated object), and once the
//! scenario's delay has passed for the current generation advance the cluster's simulated life
//! ([`ClusterSim`]), write its instance StatefulSets (and, as the StatefulSet controller, their
//! status), its Pods, its Events and its `status` (server-side apply on `/status`). Per
//! PGUpgrade: run PGO's checks and merge patch its `status.conditions`. A failed request is
//! retried on the next tick.

mod claims;
mod control;
mod owned;
mod paused;
mod sources;
mod upgrades;
mod volumes;
mod workload;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::children::{
    self, Cluster, LABEL_CLUSTER, LABEL_PGBACKREST_VOLUME, LABEL_PGUSER, LABEL_ROLE,
};
use super::clone;
use super::clusterset::{ClusterSet, Published};
use super::credentials;
use super::events;
use super::instances::{self, LABEL_INSTANCE, LABEL_INSTANCE_SET, ROLE_LEADER};
use super::repository::Repository;
use super::scenario::Deletion;
use super::sim::{ClusterSim, Tick};
use super::standby;
use super::statefulsets;
use super::status::{self, Memo};
use super::upgrade::{self, Upgrade};
use super::upstream::{self, Blocker, Upstream};
use super::{FIELD_MANAGER, FINALIZER, Shared};

/// The field manager of PGO's PGUpgrade controller.
const UPGRADE_FIELD_MANAGER: &str = "pgupgrade-controller";

/// What the operator remembers about one cluster (by uid).
#[derive(Default)]
struct Tracked {
    generation_seen: BTreeMap<i64, Instant>,
    deletion_seen: Option<Instant>,
    children_revision: Option<String>,
    pgbouncer_service: bool,
    cert_written: bool,
    /// (password, verifier) per user, as last written to its Secret.
    passwords: HashMap<String, (String, String)>,
    /// Pod name -> (incarnation, what was last written for it).
    pods: BTreeMap<String, (u32, String)>,
    /// StatefulSet name -> what was last written for it.
    runners: BTreeMap<String, workload::Written>,
    /// Repository claim name -> its uid, as last applied.
    claims: BTreeMap<String, String>,
    /// Data volume claim name -> what was last done with it.
    volumes: BTreeMap<String, volumes::DataVolume>,
    memo: Memo,
    sim: ClusterSim,
    /// A waiting standby's TLS Secrets as last read.
    standby_secrets: upstream::SecretsCache,
}

pub(super) struct Controller {
    client: kube::Client,
    clusters: Api<DynamicObject>,
    upgrades: Api<DynamicObject>,
    shared: Arc<Shared>,
    cache: BTreeMap<String, Value>,
    upgrade_cache: BTreeMap<String, Value>,
    upgrade_state: HashMap<String, Upgrade>,
    tracked: HashMap<String, Tracked>,
    /// The repository claims (labelled `.../pgbackrest-volume`) as last seen, by
    /// (namespace, name).
    claims: HashMap<(String, String), PersistentVolumeClaim>,
    /// The clusterset this operator's cluster belongs to, and what it publishes there.
    clusterset: Option<(ClusterSet, Published)>,
}

type Result<T> = std::result::Result<T, kube::Error>;

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn ignore_not_found<T>(r: Result<T>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

fn uid_of(object: &DynamicObject) -> Option<String> {
    object.metadata.uid.clone()
}

fn secret_field(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).to_string())
        .unwrap_or_default()
}

impl Controller {
    pub fn new(client: kube::Client, shared: Arc<Shared>, clusterset: Option<ClusterSet>) -> Self {
        let clusterset = clusterset.map(|set| {
            let published = set.join(client.clone(), Arc::downgrade(&shared));
            (set, published)
        });
        let clusters = Api::all_with(client.clone(), &crate::operator::postgrescluster_resource());
        let upgrades = Api::all_with(client.clone(), &crate::pgupgrade_resource());
        Self {
            client,
            clusters,
            upgrades,
            shared,
            cache: BTreeMap::new(),
            upgrade_cache: BTreeMap::new(),
            upgrade_state: HashMap::new(),
            tracked: HashMap::new(),
            claims: HashMap::new(),
            clusterset,
        }
    }

    fn api_for<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn merge_params() -> PatchParams {
        PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        }
    }

    async fn reconcile(&mut self, uid: &str) -> Result<()> {
        let Some(object) = self.cache.get(uid).cloned() else {
            return Ok(());
        };
        let Some(c) = Cluster::of(&object) else {
            return Ok(());
        };
        let scenario = self.shared.scenario_for(c.namespace, c.name);
        let finalizers = crate::meta::finalizers(&object);
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            c.namespace,
            &crate::operator::postgrescluster_resource(),
        );
        let now = Instant::now();
        let tracked = self.tracked.entry(uid.to_string()).or_default();

        if object.pointer("/metadata/deletionTimestamp").is_some() {
            if !finalizers.iter().any(|f| f == FINALIZER) {
                return Ok(());
            }
            let seen = *tracked.deletion_seen.get_or_insert(now);
            match scenario.deletion {
                Deletion::Never => return Ok(()),
                Deletion::After(d) if now < seen + d => return Ok(()),
                Deletion::After(_) => {}
            }
            self.delete_children(&c).await?;
            let remaining: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
            let rv = crate::meta::meta_str(&object, "resourceVersion").unwrap_or("");
            let patch = json!({ "metadata": { "finalizers": remaining, "resourceVersion": rv } });
            match api
                .patch(c.name, &Self::merge_params(), &Patch::Merge(patch))
                .await
            {
                Ok(updated) => self.remember(updated),
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
            return Ok(());
        }

        if !finalizers.iter().any(|f| f == FINALIZER) {
            let mut all = finalizers.clone();
            all.push(FINALIZER.to_string());
            let rv = crate::meta::meta_str(&object, "resourceVersion").unwrap_or("");
            let patch = json!({ "metadata": { "finalizers": all, "resourceVersion": rv } });
            let updated = api
                .patch(c.name, &Self::merge_params(), &Patch::Merge(patch))
                .await?;
            self.remember(updated);
            return Ok(());
        }

        if c.spec.get("paused").and_then(Value::as_bool) == Some(true) {
            return self.write_paused(&c, &object).await;
        }

        self.shared.remember_cluster(&c);
        let children_revision = credentials::revision(&format!(
            "{}{}{}",
            c.uid,
            c.spec,
            children::backup_removal_authorized(&c)
        ));
        if tracked.children_revision.as_deref() != Some(children_revision.as_str()) {
            self.apply_children(&c).await?;
            if let Some(t) = self.tracked.get_mut(uid) {
                t.children_revision = Some(children_revision);
            }
        } else if self.claims_lost_owner(&c) {
            self.apply_repo_volumes(&c).await?;
        }
        if !self.tracked.get(uid).is_some_and(|t| t.sim.adopted) {
            self.adopt_pods(&c).await?;
        }
        // A standby's source is looked at when the tick will use it.
        let settles = self.tracked.get_mut(uid).is_some_and(|t| {
            now >= *t.generation_seen.entry(c.generation).or_insert(now) + scenario.ready_after
        });
        let upstream = if settles {
            self.observe_upstream(&c, now).await?
        } else {
            None
        };
        let data_source = if settles { self.data_source(uid) } else { None };

        let Some(tracked) = self.tracked.get_mut(uid) else {
            return Ok(());
        };
        let seen = *tracked.generation_seen.entry(c.generation).or_insert(now);
        let current = object
            .get("status")
            .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()));
        let settled = now >= seen + scenario.ready_after;
        let t = Tick {
            c: &c,
            scenario: &scenario,
            now,
            wall: chrono::Utc::now(),
        };
        let desired = if settled {
            tracked.sim.standby.upstream = upstream;
            if let Some(ds) = tracked.sim.clone.as_mut() {
                ds.source = data_source;
            }
            {
                let mut repos = self
                    .shared
                    .repositories
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let repo: &mut Repository = repos
                    .entry((c.namespace.to_string(), c.name.to_string()))
                    .or_default();
                tracked.sim.tick(&t, repo);
            }
            let key = (c.namespace.to_string(), c.name.to_string());
            self.shared.record_recovery(&key, &tracked.sim);
            if let Some(ds) = tracked.sim.clone.as_ref().filter(|d| d.restored_now()) {
                self.shared.copy_catalog(&ds.source_key(), &key);
            }
            let restarted = std::mem::take(&mut tracked.sim.rolling.pending);
            if !restarted.is_empty()
                && let Ok(mut restarts) = self.shared.restarts.lock()
            {
                restarts
                    .entry((c.namespace.to_string(), c.name.to_string()))
                    .or_default()
                    .extend(restarted);
            }
            Some(status::settled(
                &t,
                &tracked.sim,
                current,
                &mut tracked.memo,
            ))
        } else if current.is_none() {
            Some(status::initial(&c))
        } else {
            paused::unpaused(current)
        };
        self.publish(&c);
        if settled {
            self.write_statefulsets(&t, uid).await?;
            self.write_data_volumes(&t, uid).await?;
            self.write_pods(&t, uid).await?;
            self.write_events(&c, uid).await?;
        }
        let Some(desired) = desired.filter(|d| current != Some(d)) else {
            return Ok(());
        };
        let body = json!({
            "apiVersion": format!("{}/v1beta1", crate::resources::PGO_GROUP),
            "kind": "PostgresCluster",
            "metadata": { "name": c.name, "namespace": c.namespace },
            "status": desired,
        });
        let updated = api
            .patch_status(
                c.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        self.remember(updated);
        Ok(())
    }
}
