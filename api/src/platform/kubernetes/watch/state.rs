//! The watch's memory and its translation of watcher events into [`PlatformEvent`]s, without
//! I/O: the PostgresClusters seen, caches of the Secrets and Services their connection facts
//! come from, and the facts last reported per cluster.
//!
//! A cluster event always reports the cluster. A Secret or Service event re-reports a cluster
//! of the same namespace only when its connection facts changed (password rotated, pooler
//! turned on, replica Service created). A cluster relist ends in `Gone` for every cluster that
//! was known but not relisted, then `Resynced`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::DynamicObject;
use kube::runtime::watcher::Event;

use super::cache::{Cache, Key, key_of, slim};
use super::observe::{connection_facts, ids, observed, trim_cluster, trim_secret};
use crate::platform::kubernetes::labels::{PGO_CLUSTER_CERTIFICATE, PGO_ROLE, PGO_ROLE_PGUSER};
use crate::platform::{ConnectionFacts, PlatformEvent};

/// Secrets the facts come from: user Secrets and the cluster certificate.
fn connection_secret(secret: &Secret) -> bool {
    secret.metadata.labels.as_ref().is_some_and(|l| {
        l.get(PGO_ROLE).map(String::as_str) == Some(PGO_ROLE_PGUSER)
            || l.contains_key(PGO_CLUSTER_CERTIFICATE)
    })
}

fn any_service(_: &Service) -> bool {
    true
}

/// Everything the watch remembers.
pub struct WatchState {
    clusters: BTreeMap<Key, DynamicObject>,
    relisted: Option<BTreeSet<Key>>,
    secrets: Cache<Secret>,
    services: Cache<Service>,
    reported: BTreeMap<Key, ConnectionFacts>,
}

impl Default for WatchState {
    fn default() -> Self {
        Self {
            clusters: BTreeMap::new(),
            relisted: None,
            secrets: Cache::new(connection_secret, trim_secret),
            services: Cache::new(any_service, std::convert::identity),
            reported: BTreeMap::new(),
        }
    }
}

impl WatchState {
    /// Whether the Secret and Service caches have taken in a first full list.
    pub fn children_ready(&self) -> (bool, bool) {
        (self.secrets.is_ready(), self.services.is_ready())
    }

    fn facts(&self, cluster: &DynamicObject) -> ConnectionFacts {
        let namespace = cluster.metadata.namespace.as_deref().unwrap_or_default();
        connection_facts(
            cluster,
            |name| self.secrets.get(namespace, name),
            |name| self.services.get(namespace, name),
        )
    }

    fn report(&mut self, key: &Key) -> Option<PlatformEvent> {
        let cluster = self.clusters.get(key)?;
        let facts = self.facts(cluster);
        let observation = observed(cluster, facts.clone())?;
        self.reported.insert(key.clone(), facts);
        Some(PlatformEvent::Observed(Box::new(observation)))
    }

    fn forget(&mut self, key: &Key) -> Option<PlatformEvent> {
        self.reported.remove(key);
        let object = self.clusters.remove(key)?;
        let (tenant_id, cluster_id) = ids(&object)?;
        Some(PlatformEvent::Gone {
            tenant_id,
            cluster_id,
        })
    }

    /// Takes in a PostgresCluster event.
    pub fn on_cluster(&mut self, event: Event<DynamicObject>) -> Vec<PlatformEvent> {
        match event {
            Event::Init => {
                self.relisted = Some(BTreeSet::new());
                Vec::new()
            }
            Event::Apply(object) | Event::InitApply(object) => {
                let object = trim_cluster(slim(object));
                let key = key_of(&object);
                if let Some(seen) = self.relisted.as_mut() {
                    seen.insert(key.clone());
                }
                self.clusters.insert(key.clone(), object);
                self.report(&key).into_iter().collect()
            }
            Event::Delete(object) => {
                let key = key_of(&object);
                // Report with the final object's labels even if it was never seen alive.
                self.clusters.insert(key.clone(), object);
                self.forget(&key).into_iter().collect()
            }
            Event::InitDone => {
                let seen = self.relisted.take().unwrap_or_default();
                let vanished: Vec<Key> = self
                    .clusters
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                let mut out: Vec<PlatformEvent> =
                    vanished.iter().filter_map(|k| self.forget(k)).collect();
                out.push(PlatformEvent::Resynced);
                out
            }
        }
    }

    /// Takes in a Secret event.
    pub fn on_secret(&mut self, event: Event<Secret>) -> Vec<PlatformEvent> {
        let touched = self.secrets.apply(event);
        self.rereport(&touched)
    }

    /// Takes in a Service event.
    pub fn on_service(&mut self, event: Event<Service>) -> Vec<PlatformEvent> {
        let touched = self.services.apply(event);
        self.rereport(&touched)
    }

    /// Re-reports the clusters in the namespaces of `touched` whose facts changed.
    fn rereport(&mut self, touched: &[Key]) -> Vec<PlatformEvent> {
        let namespaces: BTreeSet<&str> = touched.iter().map(|(ns, _)| ns.as_str()).collect();
        let candidates: Vec<Key> = self
            .clusters
            .keys()
            .filter(|(ns, _)| namespaces.contains(ns.as_str()))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in candidates {
            let changed = match (self.clusters.get(&key), self.reported.get(&key)) {
                (Some(cluster), Some(before)) => self.facts(cluster) != *before,
                (Some(_), None) => true,
                _ => false,
            };
            if changed && let Some(event) = self.report(&key) {
                out.push(event);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
