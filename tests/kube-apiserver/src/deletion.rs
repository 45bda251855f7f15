//! Deletion semantics: finalizers, garbage collection of dependents, namespace termination.
//!
//! An object with finalizers is not removed: it gets `deletionTimestamp` (and a generation
//! bump when the type tracks generations) and is removed by the write that empties its
//! finalizers. Removing an object deletes, in the same transaction, the objects that name it in
//! `ownerReferences` (background propagation; `Orphan` strips the reference instead). Deleting
//! a namespace marks it Terminating, deletes everything in it, and removes the namespace once
//! nothing is left (objects held by finalizers keep it Terminating). A claim being deleted
//! loses its `kubernetes.io/pvc-protection` finalizer (and goes) once no scheduled Pod of its
//! namespace mounts it, checked when it is deleted and whenever a Pod changes or goes, as the
//! pvc-protection controller does. These run synchronously inside the store transaction
//! instead of in separate controllers; see the crate docs.

use serde_json::Value;

use crate::admission::PVC_PROTECTION;
use crate::meta;
use crate::resources::{self, Model, RESOURCES};
use crate::store::{ObjKey, Txn};

/// `propagationPolicy` of a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        match raw {
            None | Some("") | Some("Background") => Some(Self::Background),
            Some("Foreground") => Some(Self::Foreground),
            Some("Orphan") => Some(Self::Orphan),
            Some(_) => None,
        }
    }
}

/// What a delete did.
pub(crate) enum Outcome {
    /// Removed; the last state (with the deletion's resourceVersion).
    Removed(Value),
    /// Marked for deletion; waiting for finalizers.
    Pending(Value),
}

fn def_of(res: &str) -> Option<&'static resources::ResourceDef> {
    RESOURCES.iter().find(|r| r.key() == res)
}

/// Deletes the object at `key` (which must exist).
pub(crate) fn delete(txn: &mut Txn<'_>, key: &ObjKey, policy: Propagation) -> Option<Outcome> {
    let current = txn.get(key)?;
    let def = def_of(key.res)?;
    let pending = !meta::finalizers(&current).is_empty() || def.model == Model::Namespace;
    if pending {
        if current.pointer("/metadata/deletionTimestamp").is_some() {
            return Some(Outcome::Pending((*current).clone()));
        }
        let mut marked = (*current).clone();
        if let Some(m) = meta::meta_mut(&mut marked) {
            m.insert("deletionTimestamp".into(), Value::from(meta::now_rfc3339()));
            m.insert("deletionGracePeriodSeconds".into(), Value::from(0));
            if def.tracks_generation {
                let g = m.get("generation").and_then(Value::as_i64).unwrap_or(1);
                m.insert("generation".into(), Value::from(g + 1));
            }
        }
        if def.model == Model::Namespace {
            if let Some(status) = marked.get_mut("status").and_then(Value::as_object_mut) {
                status.insert("phase".into(), Value::from("Terminating"));
            }
            let stored = txn.put(key.clone(), marked);
            terminate_namespace(txn, &key.name);
            return Some(match txn.get(key) {
                Some(still) => Outcome::Pending((*still).clone()),
                None => Outcome::Removed((*stored).clone()),
            });
        }
        let stored = txn.put(key.clone(), marked);
        if let Some(last) = release_claim(txn, key) {
            return Some(Outcome::Removed(last));
        }
        return Some(Outcome::Pending((*stored).clone()));
    }
    let last = remove(txn, key, policy)?;
    Some(Outcome::Removed(last))
}

/// Removes `key` now, then its dependents, then finishes a terminating namespace it emptied.
/// (`Foreground` is treated as `Background`: the owner does not wait for its dependents.)
pub(crate) fn remove(txn: &mut Txn<'_>, key: &ObjKey, policy: Propagation) -> Option<Value> {
    let last = txn.remove(key)?;
    let uid = meta::meta_str(&last, "uid").unwrap_or("").to_string();
    if !uid.is_empty() {
        collect_dependents(txn, key, &uid, policy);
    }
    if key.res == "pods" {
        release_unused_claims(txn, &key.ns);
    }
    if !key.ns.is_empty() {
        finish_namespace_if_empty(txn, &key.ns);
    }
    Some((*last).clone())
}

fn owned_by(object: &Value, uid: &str) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

fn collect_dependents(txn: &mut Txn<'_>, owner: &ObjKey, uid: &str, policy: Propagation) {
    let candidates: Vec<ObjKey> = if owner.ns.is_empty() {
        txn.base().all_keys()
    } else {
        txn.base().keys_in_namespace(&owner.ns)
    };
    for key in candidates {
        let Some(obj) = txn.get(&key) else { continue };
        if !owned_by(&obj, uid) {
            continue;
        }
        let mut without = (*obj).clone();
        let mut others_remain = false;
        if let Some(refs) = without
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
            others_remain = !refs.is_empty();
        }
        // Like the garbage collector: a dependent that still has another owner only loses the
        // reference to the deleted one.
        if policy == Propagation::Orphan || others_remain {
            txn.put(key, without);
        } else {
            delete(txn, &key, Propagation::Background);
        }
    }
}

fn terminate_namespace(txn: &mut Txn<'_>, ns: &str) {
    for key in txn.base().keys_in_namespace(ns) {
        if txn.get(&key).is_some() {
            delete(txn, &key, Propagation::Background);
        }
    }
    finish_namespace_if_empty(txn, ns);
}

/// Removes a Terminating namespace once no object is left in it.
pub(crate) fn finish_namespace_if_empty(txn: &mut Txn<'_>, ns: &str) {
    let ns_key = ObjKey::new("namespaces", "", ns);
    let Some(namespace) = txn.get(&ns_key) else {
        return;
    };
    if namespace.pointer("/metadata/deletionTimestamp").is_none() {
        return;
    }
    let remaining = txn
        .base()
        .keys_in_namespace(ns)
        .into_iter()
        .any(|k| txn.get(&k).is_some());
    if !remaining {
        txn.remove(&ns_key);
    }
}

/// Whether an update leaves an object being deleted without finalizers. Upstream then deletes
/// the stored object instead of storing the update: watchers see only DELETED (with the
/// finalizers it had), and the writer gets the update back, at the old resourceVersion.
/// (Namespaces go once empty instead: [`finish_namespace_if_empty`].)
pub(crate) fn update_completes_deletion(key: &ObjKey, updated: &Value) -> bool {
    key.res != "namespaces"
        && updated.pointer("/metadata/deletionTimestamp").is_some()
        && meta::finalizers(updated).is_empty()
}

/// Whether a Pod of `ns` uses the claim `name`: like the pvc-protection controller, only a
/// scheduled Pod (`spec.nodeName` set, whatever its phase) that mounts it counts; the kubelet
/// never starts a Pod on a claim being deleted. (Generic ephemeral volumes are not modelled.)
fn claim_in_use(txn: &Txn<'_>, ns: &str, name: &str) -> bool {
    txn.base().list("pods", Some(ns)).keys().any(|key| {
        let Some(pod) = txn.get(key) else {
            return false;
        };
        let scheduled = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let volumes = pod.pointer("/spec/volumes").and_then(Value::as_array);
        scheduled
            && volumes.into_iter().flatten().any(|v| {
                v.pointer("/persistentVolumeClaim/claimName")
                    .and_then(Value::as_str)
                    == Some(name)
            })
    })
}

/// The pvc-protection controller for one claim: a claim being deleted that no Pod uses loses
/// its protection finalizer. Returns the removed claim's last state when that was its last
/// finalizer.
fn release_claim(txn: &mut Txn<'_>, key: &ObjKey) -> Option<Value> {
    if key.res != "persistentvolumeclaims" {
        return None;
    }
    let claim = txn.get(key)?;
    let finalizers = meta::finalizers(&claim);
    if claim.pointer("/metadata/deletionTimestamp").is_none()
        || !finalizers.iter().any(|f| f == PVC_PROTECTION)
        || claim_in_use(txn, &key.ns, &key.name)
    {
        return None;
    }
    if finalizers.iter().all(|f| f == PVC_PROTECTION) {
        // The controller's update empties the finalizers: see `update_completes_deletion`.
        return remove(txn, key, Propagation::Background);
    }
    let mut released = (*claim).clone();
    if let Some(list) = released
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f != PVC_PROTECTION);
    }
    txn.put(key.clone(), released);
    None
}

/// Releases every claim of `ns` being deleted that no Pod uses any more (after a Pod changed
/// or went).
pub(crate) fn release_unused_claims(txn: &mut Txn<'_>, ns: &str) {
    for key in txn
        .base()
        .list("persistentvolumeclaims", Some(ns))
        .into_keys()
    {
        release_claim(txn, &key);
    }
}
