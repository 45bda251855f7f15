//! The object store: every object of every type, the global resourceVersion counter and the
//! event history, behind one lock.
//!
//! Writes happen in transactions ([`Store::write`]): a closure reads and stages puts/removes,
//! and only if it returns `Ok` are they committed, each stamped with the next resourceVersion
//! and recorded as an event. Watchers learn about commits through a `watch` channel carrying
//! the latest resourceVersion. The store knows nothing of HTTP, admission or apply; it must
//! never hold its lock across an `.await`.

mod history;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::watch;

use history::History;
pub(crate) use history::{EventType, StoredEvent, TooOld};

/// Identity of a stored object: resource key (plural), namespace ("" when cluster-scoped), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjKey {
    pub res: &'static str,
    pub ns: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(res: &'static str, ns: &str, name: &str) -> Self {
        Self {
            res,
            ns: ns.to_string(),
            name: name.to_string(),
        }
    }
}

/// Committed state.
pub(crate) struct Inner {
    rv: u64,
    objects: BTreeMap<ObjKey, Arc<Value>>,
    history: History,
}

impl Inner {
    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// Current objects of one type, optionally in one namespace, in key order.
    pub fn list(&self, res: &'static str, ns: Option<&str>) -> BTreeMap<ObjKey, Arc<Value>> {
        let lo = ObjKey::new(res, ns.unwrap_or(""), "");
        self.objects
            .range(lo..)
            .take_while(|(k, _)| k.res == res && ns.is_none_or(|n| k.ns == n))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Objects of one type as they were at resourceVersion `rv`.
    pub fn list_at(
        &self,
        res: &'static str,
        ns: Option<&str>,
        rv: u64,
    ) -> Result<BTreeMap<ObjKey, Arc<Value>>, TooOld> {
        if rv >= self.rv {
            return Ok(self.list(res, ns));
        }
        let all = self.history.rewind(self.list(res, None), res, rv)?;
        Ok(all
            .into_iter()
            .filter(|(k, _)| ns.is_none_or(|n| k.ns == n))
            .collect())
    }

    /// Committed events after `rv` (all types).
    pub fn events_after(&self, rv: u64) -> Result<Vec<Arc<StoredEvent>>, TooOld> {
        self.history.after(rv)
    }

    pub fn compacted(&self) -> u64 {
        self.history.compacted()
    }

    /// Every key in a namespace (any type), for namespace deletion.
    pub fn keys_in_namespace(&self, ns: &str) -> Vec<ObjKey> {
        self.objects
            .keys()
            .filter(|k| k.ns == ns)
            .cloned()
            .collect()
    }

    /// Every key (any type, any namespace).
    pub fn all_keys(&self) -> Vec<ObjKey> {
        self.objects.keys().cloned().collect()
    }
}

/// A staged write set; see [`Store::write`].
pub(crate) struct Txn<'a> {
    base: &'a Inner,
    next_rv: u64,
    pending: BTreeMap<ObjKey, Option<Arc<Value>>>,
    events: Vec<StoredEvent>,
}

impl Txn<'_> {
    /// Reads through the staged writes.
    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        match self.pending.get(key) {
            Some(staged) => staged.clone(),
            None => self.base.get(key),
        }
    }

    /// The committed state (for listing while staging).
    pub fn base(&self) -> &Inner {
        self.base
    }

    /// Stages a create or update, stamping `metadata.resourceVersion`; returns the stored value.
    pub fn put(&mut self, key: ObjKey, mut object: Value) -> Arc<Value> {
        self.next_rv += 1;
        let rv = self.next_rv;
        if let Some(meta) = crate::meta::meta_mut(&mut object) {
            meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        }
        let object = Arc::new(object);
        let prev = self.get(&key);
        let ty = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.events.push(StoredEvent {
            rv,
            ty,
            key: key.clone(),
            object: object.clone(),
            prev,
        });
        self.pending.insert(key, Some(object.clone()));
        object
    }

    /// Stages a removal; the DELETED event carries the last state with a fresh resourceVersion.
    pub fn remove(&mut self, key: &ObjKey) -> Option<Arc<Value>> {
        let prev = self.get(key)?;
        self.next_rv += 1;
        let rv = self.next_rv;
        let mut last = (*prev).clone();
        if let Some(meta) = crate::meta::meta_mut(&mut last) {
            meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        }
        let last = Arc::new(last);
        self.events.push(StoredEvent {
            rv,
            ty: EventType::Deleted,
            key: key.clone(),
            object: last.clone(),
            prev: Some(prev),
        });
        self.pending.insert(key.clone(), None);
        Some(last)
    }
}

/// The shared store.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Store {
    pub fn new(event_window: usize) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            inner: Mutex::new(Inner {
                rv: 0,
                objects: BTreeMap::new(),
                history: History::new(event_window),
            }),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A receiver that sees the latest committed resourceVersion.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Runs `f` against committed state (no writes).
    pub fn read<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.lock())
    }

    /// Runs `f` in a transaction; its staged writes are committed only if it returns `Ok`.
    pub fn write<R, E>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<R, E>) -> Result<R, E> {
        self.write_with(true, f)
    }

    /// Like [`Store::write`], but commits only when `commit` is true (dry runs pass false).
    pub fn write_with<R, E>(
        &self,
        commit: bool,
        f: impl FnOnce(&mut Txn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut guard = self.lock();
        let (result, pending, events, next_rv) = {
            let mut txn = Txn {
                base: &guard,
                next_rv: guard.rv,
                pending: BTreeMap::new(),
                events: Vec::new(),
            };
            let result = f(&mut txn);
            (result, txn.pending, txn.events, txn.next_rv)
        };
        if commit && result.is_ok() && !events.is_empty() {
            for (key, staged) in pending {
                match staged {
                    Some(v) => {
                        guard.objects.insert(key, v);
                    }
                    None => {
                        guard.objects.remove(&key);
                    }
                }
            }
            for e in events {
                guard.history.push(e);
            }
            guard.rv = next_rv;
            self.changed.send_replace(next_rv);
        }
        result
    }

    /// Changes the retained event window (smaller windows make 410 Expired easy to provoke).
    pub fn set_event_window(&self, window: usize) {
        self.lock().history.set_window(window);
    }

    /// Drops the whole event history, so any watch or list from an older version gets 410.
    pub fn compact(&self) {
        let mut guard = self.lock();
        let rv = guard.rv;
        guard.history.compact_all(rv);
    }
}
