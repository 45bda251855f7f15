//! What `pods/exec` sees of recovery (`standby.rs` decides it): each reconcile publishes the
//! cluster's system identifier, whether it is in recovery and which source it follows.
//!
//! A streaming standby's data is a physical copy, so its databases and extensions are its
//! source's: while it follows a source that still runs the same system identifier, every
//! psql in the standby and every reconcile copies the source's catalog into the standby's
//! own (what it has replayed so far). When the source goes away the copy stays as it was
//! (reads keep working, lag grows); on promotion the last copy becomes the cluster's own
//! catalog, which then changes only through the cluster itself. A source in another API server
//! of the clusterset is read from that member's operator (`ClusterSet::catalog`).

use std::collections::HashMap;

use super::Shared;
use super::exec::ClusterData;
use super::sim::ClusterSim;
use super::upstream::Key;

/// A cluster's recovery as of its last reconcile.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recovery {
    pub system_identifier: Option<String>,
    pub in_recovery: bool,
    /// The source a standby replays from, while that source is there.
    pub following: Option<Key>,
    /// Why a standby has not bootstrapped (what Patroni or PGO logs).
    pub waiting_for: Option<String>,
}

/// What a standby replays of its source: the source's catalog, as of one moment.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    extensions: HashMap<String, std::collections::BTreeMap<String, String>>,
    databases: Vec<String>,
}

/// The catalog of `source` in `data` if it runs the system `system`.
pub(crate) fn catalog_of(
    data: &HashMap<Key, ClusterData>,
    source: &Key,
    system: &str,
) -> Option<Catalog> {
    let from = data
        .get(source)
        .filter(|s| s.recovery.system_identifier.as_deref() == Some(system))?;
    Some(Catalog {
        extensions: from.extensions.clone(),
        databases: from.databases(),
    })
}

impl Shared {
    fn lock_data(&self) -> std::sync::MutexGuard<'_, HashMap<Key, ClusterData>> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the recovery of `key` after a tick, replaying its source's catalog once more
    /// (also on the tick that promotes it: the last WAL it replayed).
    pub(crate) fn record_recovery(&self, key: &Key, sim: &ClusterSim) {
        let replay_from = {
            let mut data = self.lock_data();
            let entry = data.entry(key.clone()).or_default();
            let was_following = entry.recovery.following.take();
            entry.recovery = Recovery {
                system_identifier: sim.system_identifier.clone(),
                in_recovery: sim.standby.in_recovery,
                following: sim.standby.following.clone(),
                waiting_for: sim.standby.waiting_for(sim.bootstrapped),
            };
            let promoted = !entry.recovery.in_recovery;
            entry
                .recovery
                .following
                .clone()
                .or(was_following.filter(|_| promoted))
        };
        if let Some(source) = replay_from {
            self.replay(key, &source);
        }
    }

    /// Before a psql in `key`: a standby in recovery replays its source's current catalog.
    pub(crate) fn replay_now(&self, key: &Key) {
        let source = self
            .lock_data()
            .get(key)
            .filter(|d| d.recovery.in_recovery)
            .and_then(|d| d.recovery.following.clone());
        if let Some(source) = source {
            self.replay(key, &source);
        }
    }

    /// Copies `source`'s databases and extensions into `key` when both are the same system:
    /// the source in this API server, or in another member of the clusterset. No lock is held
    /// while another member's is taken (two sites may follow each other).
    fn replay(&self, key: &Key, source: &Key) {
        let Some(system) = self
            .lock_data()
            .get(key)
            .and_then(|d| d.recovery.system_identifier.clone())
        else {
            return;
        };
        let local = catalog_of(&self.lock_data(), source, &system);
        let catalog = local.or_else(|| self.clusterset.as_ref()?.catalog(source, &system));
        let Some(catalog) = catalog else {
            return;
        };
        if let Some(to) = self.lock_data().get_mut(key) {
            to.extensions = catalog.extensions;
            to.replayed_databases = catalog.databases;
        }
    }

    /// A clone restored from `source`'s repository: it has the source's databases and
    /// extensions (a physical copy), which then change only through the clone itself.
    pub(crate) fn copy_catalog(&self, source: &Key, clone: &Key) {
        let mut data = self.lock_data();
        let Some(from) = data.get(source) else {
            return;
        };
        let (extensions, databases) = (from.extensions.clone(), from.databases());
        let to = data.entry(clone.clone()).or_default();
        to.extensions = extensions;
        to.replayed_databases = databases;
    }

    /// The recovery of `key`, if the operator has reconciled it.
    pub(crate) fn recovery(&self, key: &Key) -> Option<Recovery> {
        let data = self.data.lock().ok()?;
        data.get(key).map(|d| d.recovery.clone())
    }
}

impl ClusterData {
    /// The databases that exist: a standby's are its source's; out of recovery PGO also
    /// creates the spec's.
    pub fn databases(&self) -> Vec<String> {
        let mut all = self.replayed_databases.clone();
        if !self.recovery.in_recovery {
            all.extend(
                self.facts
                    .databases
                    .iter()
                    .filter(|d| !self.replayed_databases.contains(d))
                    .cloned(),
            );
        }
        all
    }
}
