//! The bounded event history: what watchers replay from a resourceVersion, and what lets a list
//! be served at an older resourceVersion (snapshot) or through a continue token.
//!
//! Holds at most `window` events across all types, like etcd after compaction. A read older than
//! the oldest retained event is answered with 410 Expired by the caller.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::ObjKey;

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change. `object` is the new state (for deletes: the last state, stamped with
/// the deletion's resourceVersion); `prev` the state before (absent for adds).
#[derive(Debug)]
pub(crate) struct StoredEvent {
    pub rv: u64,
    pub ty: EventType,
    pub key: ObjKey,
    pub object: Arc<Value>,
    pub prev: Option<Arc<Value>>,
}

/// Why a historical read cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooOld {
    /// The oldest resourceVersion still servable.
    pub oldest: u64,
}

pub(crate) struct History {
    window: usize,
    events: VecDeque<Arc<StoredEvent>>,
    /// The highest resourceVersion whose event was dropped (0 when none).
    compacted: u64,
}

impl History {
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            events: VecDeque::new(),
            compacted: 0,
        }
    }

    pub fn set_window(&mut self, window: usize) {
        self.window = window.max(1);
        self.trim();
    }

    pub fn push(&mut self, event: StoredEvent) {
        self.events.push_back(Arc::new(event));
        self.trim();
    }

    fn trim(&mut self) {
        while self.events.len() > self.window {
            if let Some(old) = self.events.pop_front() {
                self.compacted = old.rv;
            }
        }
    }

    /// Drops every retained event (forces 410 for any older read), as a compaction would.
    pub fn compact_all(&mut self, current_rv: u64) {
        self.events.clear();
        self.compacted = current_rv;
    }

    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    /// Events with resourceVersion greater than `rv`, oldest first.
    pub fn after(&self, rv: u64) -> Result<Vec<Arc<StoredEvent>>, TooOld> {
        if rv < self.compacted {
            return Err(TooOld {
                oldest: self.compacted,
            });
        }
        let start = self.events.partition_point(|e| e.rv <= rv);
        Ok(self.events.iter().skip(start).cloned().collect())
    }

    /// Rewinds `current` (the objects of one type now) to how they were at `rv`.
    pub fn rewind(
        &self,
        mut current: BTreeMap<ObjKey, Arc<Value>>,
        resource: &str,
        rv: u64,
    ) -> Result<BTreeMap<ObjKey, Arc<Value>>, TooOld> {
        let events = self.after(rv)?;
        for e in events.iter().rev().filter(|e| e.key.res == resource) {
            match (e.ty, &e.prev) {
                (EventType::Added, _) => {
                    current.remove(&e.key);
                }
                (_, Some(prev)) => {
                    current.insert(e.key.clone(), prev.clone());
                }
                (_, None) => {}
            }
        }
        Ok(current)
    }
}
