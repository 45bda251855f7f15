//! What a cluster learns of other clusters: a standby of its source (in this API server or
//! another member of the clusterset), a clone of its data source; and what this operator
//! publishes to the clusterset.

use super::*;

impl Controller {
    /// What a standby learns of the cluster `key` of this API server, if it exists.
    pub(super) fn local_source(&self, (ns, name): &upstream::Key) -> Option<upstream::Source> {
        let (uid, object) = self.cache.iter().find(|(_, o)| {
            o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns.as_str())
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str())
        })?;
        let sim = self.tracked.get(uid).map(|t| &t.sim);
        Some(upstream::Source::of(&Cluster::of(object)?, sim))
    }

    /// Publishes what a standby elsewhere in the clusterset learns of cluster `c`.
    pub(super) fn publish(&self, c: &Cluster<'_>) {
        let Some((_, published)) = &self.clusterset else {
            return;
        };
        let sim = self.tracked.get(c.uid).map(|t| &t.sim);
        let source = upstream::Source::of(c, sim);
        let key = (c.namespace.to_string(), c.name.to_string());
        published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, source);
    }
    /// What a clone finds of its source cluster, if it is bootstrapping from one
    /// (`clone.rs`); `None` when the source does not exist.
    pub(super) fn data_source(&self, uid: &str) -> Option<clone::Source> {
        let ds = self.tracked.get(uid)?.sim.clone.as_ref()?;
        if ds.initialized() {
            return None;
        }
        let (ns, name) = ds.source_key();
        let object = self.cache.values().find(|o| {
            o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns.as_str())
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str())
        })?;
        let repo_names = object
            .pointer("/spec/backups/pgbackrest/repos")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("name").and_then(Value::as_str).map(String::from))
            .collect();
        let repository = self
            .shared
            .repositories
            .lock()
            .ok()
            .and_then(|r| r.get(&(ns, name)).cloned())
            .unwrap_or_default();
        Some(clone::Source {
            repo_names,
            repository,
        })
    }

    /// What a standby sees of its source ([`upstream::observe`]); `None` out of standby mode.
    pub(super) async fn observe_upstream(
        &mut self,
        c: &Cluster<'_>,
        now: Instant,
    ) -> Result<Option<std::result::Result<Upstream, Blocker>>> {
        let Some(spec) = standby::spec(c) else {
            return Ok(None);
        };
        // A source in this API server is read from the operator's own view; one exported by
        // another member of the clusterset from what that member publishes.
        let mut source_client = self.client.clone();
        let source = match upstream::resolve(c, &spec) {
            Ok(key) if upstream::across_clusters(&spec) => {
                let found = self.clusterset.as_ref().and_then(|(set, _)| set.find(&key));
                found.map(|(source, client)| {
                    source_client = client;
                    source
                })
            }
            Ok(key) => self.local_source(&key),
            Err(_) => None,
        };
        let Some(t) = self.tracked.get_mut(c.uid) else {
            return Ok(None);
        };
        let bootstrapped_as = t
            .sim
            .system_identifier
            .as_deref()
            .filter(|_| t.sim.bootstrapped);
        let seen = upstream::observe(
            &self.client,
            &source_client,
            c,
            &spec,
            source.as_ref(),
            bootstrapped_as,
            &mut t.standby_secrets,
            now,
        )
        .await?;
        Ok(Some(seen))
    }
}
