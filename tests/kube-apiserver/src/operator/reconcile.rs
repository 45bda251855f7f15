//! The simulated operator's control loop: a `kube::runtime::watcher` on PostgresClusters in all
//! namespaces plus a resync tick, and a level-triggered reconcile of each cluster through the
//! HTTP API (so its requests show up in the request log and can be hit by faults).
//!
//! Per cluster: add the finalizer (merge patch with a resourceVersion precondition), apply the
//! children with server-side apply (field manager `postgres-operator`), write `status` with
//! server-side apply on `/status` once the scenario's delay has passed for the current
//! generation, and on deletion delete the children and then remove the finalizer. A failed
//! request is retried on the next tick.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::children::{self, Cluster, LABEL_CLUSTER, LABEL_PGUSER, LABEL_ROLE};
use super::credentials;
use super::scenario::Deletion;
use super::status::{self, Memo};
use super::{FIELD_MANAGER, FINALIZER, Shared};

/// What the operator remembers about one cluster (by uid).
#[derive(Default)]
struct Tracked {
    generation_seen: BTreeMap<i64, Instant>,
    deletion_seen: Option<Instant>,
    children_revision: Option<String>,
    pgbouncer_service: bool,
    cert_written: bool,
    passwords: HashMap<String, (String, String)>,
    memo: Memo,
}

pub(super) struct Controller {
    client: kube::Client,
    clusters: Api<DynamicObject>,
    shared: Arc<Shared>,
    cache: BTreeMap<String, Value>,
    tracked: HashMap<String, Tracked>,
}

type Result<T> = std::result::Result<T, kube::Error>;

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl Controller {
    pub fn new(client: kube::Client, shared: Arc<Shared>) -> Self {
        let clusters = Api::all_with(client.clone(), &crate::operator::postgrescluster_resource());
        Self {
            client,
            clusters,
            shared,
            cache: BTreeMap::new(),
            tracked: HashMap::new(),
        }
    }

    pub async fn run(mut self, resync: Duration, cancel: CancellationToken) {
        let config = watcher::Config::default();
        let mut events = watcher(self.clusters.clone(), config)
            .default_backoff()
            .boxed();
        let mut tick = tokio::time::interval(resync);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                event = events.next() => match event {
                    Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => self.remember(o),
                    Some(Ok(watcher::Event::Delete(o))) => self.forget(&o),
                    Some(Ok(watcher::Event::Init | watcher::Event::InitDone)) => {}
                    Some(Err(e)) => tracing::debug!("simulated operator: watch error: {e}"),
                    None => return,
                },
                _ = tick.tick() => {}
            }
            let keys: Vec<String> = self.cache.keys().cloned().collect();
            for key in keys {
                if cancel.is_cancelled() {
                    return;
                }
                if let Err(e) = self.reconcile(&key).await {
                    tracing::debug!("simulated operator: reconcile {key} failed, will retry: {e}");
                }
            }
        }
    }

    fn remember(&mut self, object: DynamicObject) {
        let Ok(value) = serde_json::to_value(&object) else {
            return;
        };
        if let Some(uid) = object.metadata.uid.clone() {
            self.cache.insert(uid, value);
        }
    }

    fn forget(&mut self, object: &DynamicObject) {
        if let Some(uid) = &object.metadata.uid {
            self.cache.remove(uid);
            self.tracked.remove(uid);
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
                .patch(
                    c.name,
                    &PatchParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..Default::default()
                    },
                    &Patch::Merge(patch),
                )
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
                .patch(
                    c.name,
                    &PatchParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..Default::default()
                    },
                    &Patch::Merge(patch),
                )
                .await?;
            self.remember(updated);
            return Ok(());
        }

        let children_revision = credentials::revision(&format!("{}{}", c.uid, c.spec));
        if tracked.children_revision.as_deref() != Some(children_revision.as_str()) {
            self.apply_children(&c).await?;
            if let Some(t) = self.tracked.get_mut(uid) {
                t.children_revision = Some(children_revision);
            }
        }

        let Some(tracked) = self.tracked.get_mut(uid) else {
            return Ok(());
        };
        let seen = *tracked.generation_seen.entry(c.generation).or_insert(now);
        let current = object
            .get("status")
            .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()));
        let desired = if now >= seen + scenario.ready_after {
            Some(status::settled(
                &c,
                &scenario.outcome,
                current,
                &mut tracked.memo,
                &crate::meta::now_rfc3339(),
            ))
        } else if current.is_none() {
            Some(status::initial(&c))
        } else {
            None
        };
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

    async fn apply_children(&mut self, c: &Cluster<'_>) -> Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let services: Api<Service> = self.api_for(c.namespace);
        let secrets: Api<Secret> = self.api_for(c.namespace);
        for service in children::services(c) {
            let name = crate::meta::meta_str(&service, "name")
                .unwrap_or("")
                .to_string();
            services
                .patch(&name, &params, &Patch::Apply(service))
                .await?;
        }
        let Some(tracked) = self.tracked.get_mut(c.uid) else {
            return Ok(());
        };
        let pgbouncer_name = format!("{}-pgbouncer", c.name);
        if c.pgbouncer().is_some() {
            tracked.pgbouncer_service = true;
        } else if tracked.pgbouncer_service {
            match services
                .delete(&pgbouncer_name, &DeleteParams::background())
                .await
            {
                Ok(_) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
            tracked.pgbouncer_service = false;
        }
        if !tracked.cert_written
            && let Some(cert) = children::cluster_cert_secret(c)
        {
            let name = crate::meta::meta_str(&cert, "name")
                .unwrap_or("")
                .to_string();
            secrets.patch(&name, &params, &Patch::Apply(cert)).await?;
            tracked.cert_written = true;
        }
        let selector = format!("{LABEL_CLUSTER}={},{LABEL_ROLE}=pguser", c.name);
        let existing = secrets
            .list(&ListParams::default().labels(&selector))
            .await?;
        let users = c.users();
        for secret in &existing.items {
            let user = secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_PGUSER))
                .cloned()
                .unwrap_or_default();
            let data = secret.data.clone().unwrap_or_default();
            let field = |k: &str| {
                data.get(k)
                    .map(|b| String::from_utf8_lossy(&b.0).to_string())
            };
            if let (Some(p), Some(v)) = (field("password"), field("verifier")) {
                tracked.passwords.entry(user.clone()).or_insert((p, v));
            }
            if !users.iter().any(|u| u.name == user)
                && let Some(name) = &secret.metadata.name
            {
                match secrets.delete(name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for user in &users {
            let (password, verifier) = tracked
                .passwords
                .entry(user.name.clone())
                .or_insert_with(|| {
                    let p = credentials::password();
                    let v = credentials::scram_verifier(&p);
                    (p, v)
                })
                .clone();
            let secret = children::user_secret(c, user, &password, &verifier);
            secrets
                .patch(
                    &children::user_secret_name(c, &user.name),
                    &params,
                    &Patch::Apply(secret),
                )
                .await?;
        }
        Ok(())
    }

    async fn delete_children(&self, c: &Cluster<'_>) -> Result<()> {
        let selector = format!("{LABEL_CLUSTER}={}", c.name);
        let owned = |refs: Option<
            &Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
        >| { refs.is_some_and(|r| r.iter().any(|o| o.uid == c.uid)) };
        let services: Api<Service> = self.api_for(c.namespace);
        for s in services
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            if owned(s.metadata.owner_references.as_ref())
                && let Some(name) = &s.metadata.name
                && let Err(e) = services.delete(name, &DeleteParams::background()).await
                && !not_found(&e)
            {
                return Err(e);
            }
        }
        let secrets: Api<Secret> = self.api_for(c.namespace);
        for s in secrets
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            if owned(s.metadata.owner_references.as_ref())
                && let Some(name) = &s.metadata.name
                && let Err(e) = secrets.delete(name, &DeleteParams::background()).await
                && !not_found(&e)
            {
                return Err(e);
            }
        }
        Ok(())
    }
}
