//! Field sets in structured-merge-diff's `FieldsV1` notation, and paths into objects.
//!
//! A path is a list of elements written as in `managedFields[].fieldsV1`: `f:<field>`,
//! `k:{"key":value}` (an item of a map-keyed list), `v:<json>` (an item of a set) and `i:<n>`.
//! A field set is a set of such paths; it is converted to and from the nested `fieldsV1` JSON
//! (where `".": {}` marks a node that is itself a member and also has members below it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::hints::{Cursor, ListKind};

pub(crate) type Path = Vec<String>;

/// Metadata fields that are server-owned and never tracked.
const UNTRACKED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// Which part of an object a write may own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everything except `status` (types with a status subresource).
    MainWithoutStatus,
    /// Everything (types without a status subresource).
    Main,
    /// Only `status` (writes to the `/status` subresource).
    Status,
}

impl Scope {
    /// Whether a top-level field of an object belongs to this scope.
    pub fn includes(self, top_level: &str) -> bool {
        match self {
            Scope::Status => top_level == "status",
            Scope::MainWithoutStatus => !matches!(top_level, "status" | "apiVersion" | "kind"),
            Scope::Main => !matches!(top_level, "apiVersion" | "kind"),
        }
    }
}

/// The key element of a map-list item: its key fields as compact, sorted JSON.
pub(crate) fn key_element(item: &Value, keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        m.insert(
            k.clone(),
            item.get(k.as_str()).cloned().unwrap_or(Value::Null),
        );
    }
    format!("k:{}", Value::Object(m))
}

/// Every member path of `value` (with the member's value; `None` for list-item nodes).
pub(crate) fn members(
    value: &Value,
    cursor: &Cursor,
    scope: Scope,
) -> BTreeMap<Path, Option<Value>> {
    let mut out = BTreeMap::new();
    let Some(map) = value.as_object() else {
        return out;
    };
    for (k, v) in map {
        if !scope.includes(k) {
            continue;
        }
        let path = vec![format!("f:{k}")];
        if k == "metadata" {
            let Some(meta) = v.as_object() else { continue };
            let c = cursor.field("metadata");
            for (mk, mv) in meta {
                if !UNTRACKED_METADATA.contains(&mk.as_str()) {
                    walk(
                        mv,
                        &c.field(mk),
                        vec![path[0].clone(), format!("f:{mk}")],
                        &mut out,
                    );
                }
            }
            continue;
        }
        walk(v, &cursor.field(k), path, &mut out);
    }
    out
}

fn walk(value: &Value, cursor: &Cursor, path: Path, out: &mut BTreeMap<Path, Option<Value>>) {
    match value {
        Value::Object(map) if !map.is_empty() && !cursor.atomic_object() => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(v, &cursor.field(k), p, out);
            }
        }
        Value::Array(items) => match cursor.list_kind() {
            ListKind::Atomic => {
                out.insert(path, Some(value.clone()));
            }
            ListKind::Set => {
                for item in items {
                    let mut p = path.clone();
                    p.push(format!("v:{item}"));
                    out.insert(p, Some(item.clone()));
                }
            }
            ListKind::Map(keys) => {
                let item_cursor = cursor.item();
                for item in items {
                    let mut p = path.clone();
                    p.push(key_element(item, &keys));
                    out.insert(p.clone(), None);
                    if let Some(fields) = item.as_object() {
                        for (k, v) in fields {
                            let mut fp = p.clone();
                            fp.push(format!("f:{k}"));
                            walk(v, &item_cursor.field(k), fp, out);
                        }
                    }
                }
            }
        },
        _ => {
            out.insert(path, Some(value.clone()));
        }
    }
}

/// A set of paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSet(pub BTreeSet<Path>);

impl FieldSet {
    pub fn of(value: &Value, cursor: &Cursor, scope: Scope) -> Self {
        Self(members(value, cursor, scope).into_keys().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether `path` or anything below it is a member.
    pub fn covers(&self, path: &[String]) -> bool {
        self.0
            .range(path.to_vec()..)
            .next()
            .is_some_and(|p| p.starts_with(path))
    }

    /// Nested `fieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for el in path {
                let entry = node
                    .entry(el.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                node = match entry.as_object_mut() {
                    Some(m) => m,
                    None => break,
                };
            }
        }
        // A member that also has children gets the "." marker.
        fn mark(node: &mut Map<String, Value>, prefix: &mut Path, set: &BTreeSet<Path>) {
            for (k, v) in node.iter_mut() {
                prefix.push(k.clone());
                if let Some(children) = v.as_object_mut()
                    && !children.is_empty()
                {
                    mark(children, prefix, set);
                    if set.contains(prefix) {
                        children.insert(".".into(), Value::Object(Map::new()));
                    }
                }
                prefix.pop();
            }
        }
        mark(&mut root, &mut Vec::new(), &self.0);
        Value::Object(root)
    }

    /// Parses nested `fieldsV1` JSON.
    pub fn from_fields_v1(value: &Value) -> FieldSet {
        fn walk(node: &Map<String, Value>, prefix: &mut Path, out: &mut BTreeSet<Path>) {
            for (k, v) in node {
                if k == "." {
                    out.insert(prefix.clone());
                    continue;
                }
                prefix.push(k.clone());
                match v.as_object() {
                    Some(children) if !children.is_empty() => walk(children, prefix, out),
                    _ => {
                        out.insert(prefix.clone());
                    }
                }
                prefix.pop();
            }
        }
        let mut out = BTreeSet::new();
        if let Some(m) = value.as_object() {
            walk(m, &mut Vec::new(), &mut out);
        }
        FieldSet(out)
    }
}

/// Renders a path the way apply conflicts name fields: `.spec.ports[port=5432,protocol="TCP"].name`.
pub(crate) fn display(path: &[String]) -> String {
    let mut s = String::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else if let Some(i) = el.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

/// Finds the position of the list item a `k:`/`v:`/`i:` element names.
fn item_position(items: &[Value], el: &str) -> Option<usize> {
    if let Some(k) = el.strip_prefix("k:") {
        let keys: Map<String, Value> = serde_json::from_str(k).ok()?;
        items.iter().position(|item| {
            keys.iter()
                .all(|(kk, kv)| item.get(kk).unwrap_or(&Value::Null) == kv)
        })
    } else if let Some(v) = el.strip_prefix("v:") {
        let wanted: Value = serde_json::from_str(v).ok()?;
        items.iter().position(|item| *item == wanted)
    } else {
        el.strip_prefix("i:")?
            .parse()
            .ok()
            .filter(|i| *i < items.len())
    }
}

/// The value at `path`, if present.
pub(crate) fn get<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = value;
    for el in path {
        cur = match (el.strip_prefix("f:"), cur) {
            (Some(f), Value::Object(m)) => m.get(f)?,
            (None, Value::Array(items)) => &items[item_position(items, el)?],
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the value at `path`; returns whether something was removed.
pub(crate) fn remove(value: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = value;
    for el in parents {
        cur = match (el.strip_prefix("f:"), cur) {
            (Some(f), Value::Object(m)) => match m.get_mut(f) {
                Some(v) => v,
                None => return false,
            },
            (None, Value::Array(items)) => match item_position(items, el) {
                Some(i) => &mut items[i],
                None => return false,
            },
            _ => return false,
        };
    }
    match (last.strip_prefix("f:"), cur) {
        (Some(f), Value::Object(m)) => m.remove(f).is_some(),
        (None, Value::Array(items)) => match item_position(items, last) {
            Some(i) => {
                items.remove(i);
                true
            }
            None => false,
        },
        _ => false,
    }
}
