//! An in-memory copy of the objects one `kube::runtime::watcher` stream reports, keyed by
//! namespace and name. A relist (`Init` … `InitApply` … `InitDone`) is buffered and swapped in
//! at `InitDone`, so objects deleted while the watch was down disappear then.

use std::collections::{BTreeMap, BTreeSet};

use kube::Resource;
use kube::runtime::watcher::Event;

/// `(namespace, name)`.
pub type Key = (String, String);

/// The key of `object`.
pub fn key_of<K: Resource>(object: &K) -> Key {
    let meta = object.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// `object` without its `managedFields`, which nothing here reads and which are often larger
/// than the rest of the object (ten thousand clusters' worth is hundreds of megabytes).
pub fn slim<K: Resource>(mut object: K) -> K {
    object.meta_mut().managed_fields = None;
    object
}

/// Objects of one watch that pass `keep`, each stored as `trim` leaves it.
pub struct Cache<K> {
    live: BTreeMap<Key, K>,
    relisting: Option<BTreeMap<Key, K>>,
    ready: bool,
    keep: fn(&K) -> bool,
    trim: fn(K) -> K,
}

impl<K: Resource + Clone> Cache<K> {
    /// An empty cache holding only objects for which `keep` is true, without their
    /// `managedFields` and as `trim` leaves them (what the reader never looks at).
    pub fn new(keep: fn(&K) -> bool, trim: fn(K) -> K) -> Self {
        Self {
            live: BTreeMap::new(),
            relisting: None,
            ready: false,
            keep,
            trim,
        }
    }

    /// The object named `name` in `namespace`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&K> {
        self.live.get(&(namespace.to_string(), name.to_string()))
    }

    /// Whether a first full list has been taken in.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Takes in one watcher event; returns the keys whose object appeared, changed or vanished.
    pub fn apply(&mut self, event: Event<K>) -> Vec<Key> {
        match event {
            Event::Apply(object) => {
                let key = key_of(&object);
                if (self.keep)(&object) {
                    self.live.insert(key.clone(), (self.trim)(slim(object)));
                } else {
                    self.live.remove(&key);
                }
                vec![key]
            }
            Event::Delete(object) => {
                let key = key_of(&object);
                self.live.remove(&key);
                vec![key]
            }
            Event::Init => {
                self.relisting = Some(BTreeMap::new());
                Vec::new()
            }
            Event::InitApply(object) => {
                if (self.keep)(&object) {
                    let trim = self.trim;
                    let buffer = self.relisting.get_or_insert_with(BTreeMap::new);
                    buffer.insert(key_of(&object), trim(slim(object)));
                }
                Vec::new()
            }
            Event::InitDone => {
                let fresh = self.relisting.take().unwrap_or_default();
                let touched: BTreeSet<Key> =
                    self.live.keys().chain(fresh.keys()).cloned().collect();
                self.live = fresh;
                self.ready = true;
                touched.into_iter().collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn secret(name: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                ..ObjectMeta::default()
            },
            ..Secret::default()
        }
    }

    fn keep_all(_: &Secret) -> bool {
        true
    }

    #[test]
    fn a_relist_replaces_the_contents_at_init_done() {
        let mut cache = Cache::new(keep_all, std::convert::identity);
        cache.apply(Event::Init);
        cache.apply(Event::InitApply(secret("a")));
        assert!(cache.get("ns", "a").is_none(), "buffered until InitDone");
        let touched = cache.apply(Event::InitDone);
        assert_eq!(touched, vec![("ns".to_string(), "a".to_string())]);
        assert!(cache.is_ready() && cache.get("ns", "a").is_some());

        cache.apply(Event::Init);
        cache.apply(Event::InitApply(secret("b")));
        let touched = cache.apply(Event::InitDone);
        assert_eq!(touched.len(), 2, "a vanished, b appeared");
        assert!(cache.get("ns", "a").is_none() && cache.get("ns", "b").is_some());
    }

    #[test]
    fn objects_that_stop_passing_the_filter_are_dropped() {
        fn named_a(s: &Secret) -> bool {
            s.metadata.name.as_deref() == Some("a")
        }
        let mut cache = Cache::new(named_a, std::convert::identity);
        cache.apply(Event::Apply(secret("a")));
        cache.apply(Event::Apply(secret("b")));
        assert!(cache.get("ns", "a").is_some() && cache.get("ns", "b").is_none());
        cache.apply(Event::Delete(secret("a")));
        assert!(cache.get("ns", "a").is_none());
    }
}
