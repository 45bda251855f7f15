//! Server-side apply and `metadata.managedFields` bookkeeping.
//!
//! Owns the structured-merge-diff semantics this server implements: an apply merges the applied
//! configuration into the live object (maps field by field, map-keyed lists item by item, sets
//! by value, atomic lists and `x-kubernetes-map-type: atomic` objects whole), reports fields
//! owned by another manager whose value would change as 409 conflicts unless `force`, removes
//! fields the same manager applied before but no longer applies (when nobody else owns them),
//! and records the applier's field set as an `Apply` entry. Non-apply writes record the fields
//! they changed as an `Update` entry of their manager and take them away from everyone else.
//! Status-subresource writes are tracked in separate entries (`subresource: status`).

pub(crate) mod fieldset;
pub(crate) mod hints;
mod typed;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, StatusCause};
use crate::resources::ResourceDef;
use fieldset::{FieldSet, Path, Scope, display, key_element, members};
use hints::{Cursor, ListKind};
pub(crate) use typed::check_declared;

/// One `metadata.managedFields[]` entry.
#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    set: FieldSet,
}

fn parse_entries(object: Option<&Value>) -> Vec<Entry> {
    let Some(list) = object
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Entry {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: s("time"),
                subresource: s("subresource"),
                set: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
            }
        })
        .collect()
}

fn write_entries(object: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.set.to_fields_v1(),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = Value::from(e.subresource);
            }
            v
        })
        .collect();
    if let Some(meta) = crate::meta::meta_mut(object) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

fn scope_of(def: &ResourceDef, status: bool) -> (Scope, &'static str) {
    if status {
        (Scope::Status, "status")
    } else if def.status_subresource {
        (Scope::MainWithoutStatus, "")
    } else {
        (Scope::Main, "")
    }
}

/// Paths whose value differs between `before` and `after`, or that only `after` has.
fn changed_paths(
    before: &BTreeMap<Path, Option<Value>>,
    after: &BTreeMap<Path, Option<Value>>,
) -> FieldSet {
    FieldSet(
        after
            .iter()
            .filter(|(p, v)| before.get(*p) != Some(*v))
            .map(|(p, _)| p.clone())
            .collect(),
    )
}

/// Merges an applied configuration into a live value (see the module doc).
fn merge(live: Option<&Value>, applied: &Value, cursor: &Cursor) -> Value {
    match (live, applied) {
        (Some(Value::Object(lm)), Value::Object(am)) if !cursor.atomic_object() => {
            let mut out = lm.clone();
            for (k, av) in am {
                let merged = merge(lm.get(k), av, &cursor.field(k));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Some(Value::Array(li)), Value::Array(ai)) => match cursor.list_kind() {
            ListKind::Atomic => applied.clone(),
            ListKind::Set => {
                let mut out = li.clone();
                for a in ai {
                    if !out.contains(a) {
                        out.push(a.clone());
                    }
                }
                Value::Array(out)
            }
            ListKind::Map(keys) => {
                let item = cursor.item();
                let mut out = li.clone();
                for a in ai {
                    let k = key_element(a, &keys);
                    match out.iter().position(|l| key_element(l, &keys) == k) {
                        Some(pos) => out[pos] = merge(Some(&out[pos]), a, &item),
                        None => out.push(a.clone()),
                    }
                }
                Value::Array(out)
            }
        },
        _ => applied.clone(),
    }
}

/// Merges the in-scope top-level fields of `applied` into `live`.
fn merge_scoped(live: &Value, applied: &Value, cursor: &Cursor, scope: Scope) -> Value {
    let mut out = live.clone();
    let (Some(out_map), Some(applied_map)) = (out.as_object_mut(), applied.as_object()) else {
        return out;
    };
    for (k, av) in applied_map {
        if !scope.includes(k) {
            continue;
        }
        let c = cursor.field(k);
        if k == "metadata" {
            let live_meta = out_map
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(lm), Some(am)) = (live_meta.as_object_mut(), av.as_object()) {
                for (mk, mv) in am {
                    if matches!(
                        mk.as_str(),
                        "labels" | "annotations" | "finalizers" | "ownerReferences"
                    ) {
                        let merged = merge(lm.get(mk), mv, &c.field(mk));
                        lm.insert(mk.clone(), merged);
                    }
                }
            }
            continue;
        }
        let merged = merge(out_map.get(k), av, &c);
        out_map.insert(k.clone(), merged);
    }
    out
}

/// After removing `path`, removes the maps and lists above it that the removal left empty,
/// unless someone owns them as values of their own (an applied `{}` or `[]`).
fn prune_emptied_parents(object: &mut Value, path: &[String], owned: &FieldSet) {
    let mut parent = &path[..path.len().saturating_sub(1)];
    while parent.len() > 1 {
        let empty = match fieldset::get(object, parent) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if !empty || owned.0.contains(parent) {
            return;
        }
        fieldset::remove(object, parent);
        parent = &parent[..parent.len() - 1];
    }
}

/// How a conflict names the manager that owns the field, as the apiserver's `printManager`:
/// `"pgplane"`, `"kubectl" with subresource "status"`, and `using <apiVersion>` for `Update`
/// entries.
fn conflicting_manager(e: &Entry) -> String {
    let mut who = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        who.push_str(&format!(" with subresource {:?}", e.subresource));
    }
    if e.operation == "Update" {
        who.push_str(&format!(" using {}", e.api_version));
    }
    who
}

/// Server-side apply of `applied` by `manager` over `live` (None: the object is created).
///
/// Returns the merged object with updated `managedFields`, ready for admission.
pub(crate) fn server_side_apply(
    def: &'static ResourceDef,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    status: bool,
) -> Result<Value, ApiError> {
    let (scope, tag) = scope_of(def, status);
    let cursor = Cursor::root(def);
    let base = live.cloned().unwrap_or_else(|| {
        json!({
            "apiVersion": def.api_version(),
            "kind": def.kind,
            "metadata": applied.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })
    });
    let mut entries = parse_entries(live);
    let new_mine = FieldSet::of(applied, &cursor, scope);
    let prev_mine = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == "Apply" && e.subresource == tag)
        .map(|e| e.set.clone())
        .unwrap_or_default();

    let mut merged = merge_scoped(&base, applied, &cursor, scope);
    let changed = changed_paths(
        &members(&base, &cursor, scope),
        &members(&merged, &cursor, scope),
    );

    let mut causes = Vec::new();
    for e in entries.iter_mut().filter(|e| e.subresource == tag) {
        if e.manager == manager && e.operation == "Apply" {
            continue;
        }
        let conflicts = e.set.intersection(&changed).intersection(&new_mine);
        if conflicts.is_empty() {
            continue;
        }
        if force {
            e.set = e.set.difference(&conflicts);
        } else {
            let who = conflicting_manager(e);
            for p in &conflicts.0 {
                causes.push(StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message: format!("conflict with {who}"),
                    field: display(p),
                });
            }
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::apply_conflict(causes));
    }

    let others = entries
        .iter()
        .filter(|e| e.subresource == tag && !(e.manager == manager && e.operation == "Apply"))
        .fold(FieldSet::default(), |acc, e| acc.union(&e.set));
    // Parents sort before their children, so a removed list item takes its fields with it
    // (removing the fields first would lose the key that finds the item).
    // A map applied empty before and with members now stays: only what nobody applies any
    // more goes, never a parent of fields still applied.
    let still_owned = others.union(&new_mine);
    for path in prev_mine.difference(&new_mine).0.iter() {
        if !still_owned.covers(path) && fieldset::remove(&mut merged, path) {
            prune_emptied_parents(&mut merged, path, &still_owned);
        }
    }

    let present = FieldSet::of(&merged, &cursor, scope);
    for e in entries.iter_mut().filter(|e| e.subresource == tag) {
        e.set = e.set.intersection(&present);
    }
    entries.retain(|e| !(e.manager == manager && e.operation == "Apply" && e.subresource == tag));
    entries.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: def.api_version(),
        time: crate::meta::now_rfc3339(),
        subresource: tag.to_string(),
        set: new_mine,
    });
    write_entries(&mut merged, entries);
    Ok(merged)
}

/// Records a non-apply write by `manager`: the fields it changed become its `Update` entry and
/// are taken from every other manager; fields that disappeared are dropped from all entries.
///
/// `new` keeps its own `managedFields` when the client sent some; otherwise `old`'s are used.
pub(crate) fn record_update(
    def: &'static ResourceDef,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    status: bool,
) {
    let (scope, tag) = scope_of(def, status);
    let cursor = Cursor::root(def);
    let sent = new
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let mut entries = if sent {
        parse_entries(Some(new))
    } else {
        parse_entries(old)
    };
    let empty = json!({});
    let before = members(old.unwrap_or(&empty), &cursor, scope);
    let after = members(new, &cursor, scope);
    let changed = changed_paths(&before, &after);
    let removed = FieldSet(
        before
            .keys()
            .filter(|p| !after.contains_key(*p))
            .cloned()
            .collect(),
    );
    if changed.is_empty() && removed.is_empty() {
        write_entries(new, entries);
        return;
    }
    for e in entries.iter_mut().filter(|e| e.subresource == tag) {
        e.set = e.set.difference(&removed);
        if !(e.manager == manager && e.operation == "Update") {
            e.set = e.set.difference(&changed);
        }
    }
    let mine = entries
        .iter()
        .position(|e| e.manager == manager && e.operation == "Update" && e.subresource == tag);
    match mine {
        Some(i) => {
            entries[i].set = entries[i].set.union(&changed);
            entries[i].time = crate::meta::now_rfc3339();
            entries[i].api_version = def.api_version();
        }
        None if !changed.is_empty() => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version: def.api_version(),
            time: crate::meta::now_rfc3339(),
            subresource: tag.to_string(),
            set: changed,
        }),
        None => {}
    }
    write_entries(new, entries);
}

#[cfg(test)]
mod tests;
