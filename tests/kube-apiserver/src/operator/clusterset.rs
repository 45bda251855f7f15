//! A Kubernetes Multi-Cluster Services clusterset: several test API servers, each with its own
//! simulated operator, whose clusters' primary Services resolve from one another as
//! `<service>.<namespace>.svc.clusterset.local`, as they do once an MCS implementation
//! (Submariner, Cilium ClusterMesh, GKE) exports them. A standby in one member can then follow
//! a source in another, across Kubernetes clusters.
//!
//! Each member's operator publishes what a standby learns of its clusters by connecting to
//! them ([`Source`]: shut down, ready leader, system identifier, ...) and keeps its own API
//! server: the source's TLS Secrets (what the TLS handshake shows) are read there, and the
//! catalog a standby replays is its operator's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use super::Shared;
use super::recovery::{Catalog, catalog_of};
use super::upstream::{Key, Source};

/// The DNS suffix of Services exported to the clusterset.
pub const CLUSTERSET_DOMAIN: &str = "svc.clusterset.local";

/// What one member publishes: its clusters by (namespace, name).
pub(crate) type Published = Arc<Mutex<BTreeMap<Key, Source>>>;

/// Simulated operators whose clusters reach each other (clone it into each member's
/// [`super::OperatorOptions::clusterset`]).
#[derive(Clone, Default)]
pub struct ClusterSet {
    members: Arc<Mutex<Vec<Member>>>,
}

impl std::fmt::Debug for ClusterSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members = self.members.lock().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("ClusterSet")
            .field("members", &members)
            .finish()
    }
}

struct Member {
    published: Published,
    /// The member's API server, as the other members' operators reach it.
    client: kube::Client,
    /// The member operator's state (weak: the operator holds the clusterset too).
    shared: Weak<Shared>,
}

impl ClusterSet {
    /// A new, empty clusterset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an operator (its state `shared`) talking to its API server through `client`; it
    /// publishes into the returned map.
    pub(crate) fn join(&self, client: kube::Client, shared: Weak<Shared>) -> Published {
        let published = Published::default();
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Member {
                published: published.clone(),
                client,
                shared,
            });
        published
    }

    /// The catalog of the cluster `key` running the system `system` in any member.
    pub(crate) fn catalog(&self, key: &Key, system: &str) -> Option<Catalog> {
        let members: Vec<Weak<Shared>> = self
            .members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|m| m.shared.clone())
            .collect();
        members.iter().filter_map(Weak::upgrade).find_map(|shared| {
            let data = shared.data.lock().unwrap_or_else(|p| p.into_inner());
            catalog_of(&data, key, system)
        })
    }

    /// The cluster `key` of whichever member has it, with a client of that member's server.
    pub(crate) fn find(&self, key: &Key) -> Option<(Source, kube::Client)> {
        let members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        members.iter().find_map(|m| {
            let published = m.published.lock().unwrap_or_else(|p| p.into_inner());
            published.get(key).map(|s| (s.clone(), m.client.clone()))
        })
    }
}
