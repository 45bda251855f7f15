//! The control loop: the watches (clusters, PGUpgrades, user Secrets, repository claims) and
//! the resync tick deciding what to reconcile, and what each watch event changes in the
//! operator's caches.

use super::*;

impl Controller {
    pub async fn run(mut self, resync: Duration, cancel: CancellationToken) {
        let mut clusters = watcher(self.clusters.clone(), watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut upgrades = watcher(self.upgrades.clone(), watcher::Config::default())
            .default_backoff()
            .boxed();
        let secrets_api: Api<Secret> = Api::all(self.client.clone());
        let mut secrets = watcher(
            secrets_api,
            watcher::Config::default().labels(&format!("{LABEL_ROLE}=pguser")),
        )
        .default_backoff()
        .boxed();
        let claims_api: Api<PersistentVolumeClaim> = Api::all(self.client.clone());
        let mut claims = watcher(
            claims_api,
            watcher::Config::default().labels(LABEL_PGBACKREST_VOLUME),
        )
        .default_backoff()
        .boxed();
        let mut tick = tokio::time::interval(resync);
        loop {
            // A watch event reconciles the cluster it is about; a tick (or a relist) all of
            // them, so a thousand clusters do not cost a thousand reconciles per event.
            let only: Option<String> = tokio::select! {
                _ = cancel.cancelled() => return,
                event = clusters.next() => match event {
                    Some(Ok(watcher::Event::Apply(o))) => {
                        let uid = o.metadata.uid.clone();
                        self.remember(o);
                        if uid.is_none() { continue; }
                        uid
                    }
                    Some(Ok(watcher::Event::InitApply(o))) => {
                        self.remember(o);
                        continue;
                    }
                    Some(Ok(watcher::Event::Delete(o))) => {
                        self.forget(&o);
                        continue;
                    }
                    Some(Ok(watcher::Event::Init)) => continue,
                    Some(Ok(watcher::Event::InitDone)) => None,
                    Some(Err(e)) => {
                        tracing::debug!("simulated operator: watch error: {e}");
                        continue;
                    }
                    None => return,
                },
                event = upgrades.next() => match event {
                    Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => {
                        if let (Some(uid), Ok(v)) = (uid_of(&o), serde_json::to_value(&o)) {
                            self.upgrade_cache.insert(uid, v);
                        }
                        None
                    }
                    Some(Ok(watcher::Event::Delete(o))) => {
                        if let Some(uid) = uid_of(&o) {
                            self.upgrade_cache.remove(&uid);
                            self.upgrade_state.remove(&uid);
                        }
                        None
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!("simulated operator: watch error: {e}");
                        continue;
                    }
                    None => return,
                },
                event = secrets.next() => match event {
                    Some(Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s))) => {
                        self.secret_changed(&s, false);
                        let Some(owner) = controller_uid(&s) else { continue };
                        Some(owner)
                    }
                    Some(Ok(watcher::Event::Delete(s))) => {
                        self.secret_changed(&s, true);
                        let Some(owner) = controller_uid(&s) else { continue };
                        Some(owner)
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!("simulated operator: watch error: {e}");
                        continue;
                    }
                    None => return,
                },
                event = claims.next() => match event {
                    Some(Ok(watcher::Event::Apply(pvc) | watcher::Event::InitApply(pvc))) => {
                        let Some(owner) = self.claim_changed(pvc, false) else { continue };
                        Some(owner)
                    }
                    Some(Ok(watcher::Event::Delete(pvc))) => {
                        let Some(owner) = self.claim_changed(pvc, true) else { continue };
                        Some(owner)
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!("simulated operator: watch error: {e}");
                        continue;
                    }
                    None => return,
                },
                _ = tick.tick() => None,
            };
            let keys: Vec<String> = match only {
                Some(uid) if self.cache.contains_key(&uid) => vec![uid],
                Some(_) => continue,
                None => self.cache.keys().cloned().collect(),
            };
            for key in keys {
                if cancel.is_cancelled() {
                    return;
                }
                if let Err(e) = self.reconcile(&key).await {
                    tracing::debug!("simulated operator: reconcile {key} failed, will retry: {e}");
                }
            }
            let keys: Vec<String> = self.upgrade_cache.keys().cloned().collect();
            for key in keys {
                if let Err(e) = self.reconcile_upgrade(&key).await {
                    tracing::debug!("simulated operator: PGUpgrade {key} failed, will retry: {e}");
                }
            }
        }
    }

    /// Caches `object` unless the cache already holds a newer version of it. Watch events can
    /// arrive after the answer to the operator's own later write: taking them would move the
    /// cache back to a spec PGO's informer has already moved past (e.g. unpaused), and the
    /// next resync would reconcile what PGO never would (controller-runtime's cache never goes
    /// back in resourceVersion).
    pub(super) fn remember(&mut self, object: DynamicObject) {
        let Ok(value) = serde_json::to_value(&object) else {
            return;
        };
        let Some(uid) = object.metadata.uid.clone() else {
            return;
        };
        let version = |v: &Value| {
            v.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|rv| rv.parse::<u64>().ok())
        };
        let newer_cached = self
            .cache
            .get(&uid)
            .and_then(version)
            .zip(version(&value))
            .is_some_and(|(cached, seen)| cached > seen);
        if !newer_cached {
            self.cache.insert(uid, value);
        }
    }

    pub(super) fn forget(&mut self, object: &DynamicObject) {
        let claims = object
            .metadata
            .uid
            .as_ref()
            .and_then(|uid| self.tracked.get(uid))
            .map(|t| t.claims.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        if let Some(uid) = &object.metadata.uid {
            self.cache.remove(uid);
            self.tracked.remove(uid);
        }
        if let (Some(ns), Some(name)) = (&object.metadata.namespace, &object.metadata.name) {
            let key = (ns.clone(), name.clone());
            if let Some((_, published)) = &self.clusterset {
                published
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
            }
            if let Ok(mut repos) = self.shared.repositories.lock()
                && let Some(repo) = repos.remove(&key)
            {
                // What the repository volumes hold stays with them (`claims.rs`).
                for claim in claims {
                    repos.insert(claims::retained_key(ns, &claim), repo.clone());
                }
            }
            if let Ok(mut restarts) = self.shared.restarts.lock() {
                restarts.remove(&key);
            }
        }
        if let (Some(ns), Some(name)) = (&object.metadata.namespace, &object.metadata.name)
            && let Ok(mut data) = self.shared.data.lock()
        {
            data.remove(&(ns.clone(), name.clone()));
        }
    }

    /// A user Secret changed: PGO reconciles its owner, which regenerates an emptied password
    /// or verifier (and rewrites a deleted Secret).
    pub(super) fn secret_changed(&mut self, secret: &Secret, deleted: bool) {
        let Some(owner) = secret
            .metadata
            .owner_references
            .as_ref()
            .and_then(|r| r.iter().find(|o| o.controller == Some(true)))
        else {
            return;
        };
        let Some(tracked) = self.tracked.get_mut(&owner.uid) else {
            return;
        };
        let user = secret
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_PGUSER))
            .cloned()
            .unwrap_or_default();
        let seen = (
            secret_field(secret, "password"),
            secret_field(secret, "verifier"),
        );
        if deleted || tracked.passwords.get(&user) != Some(&seen) {
            tracked.children_revision = None;
        }
    }
}

/// The uid of the object that controls `secret` (its cluster).
pub(super) fn controller_uid(secret: &Secret) -> Option<String> {
    secret
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}
