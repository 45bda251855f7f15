//! Pruning and defaulting of custom resources, as the apiserver does before validation:
//! fields the schema does not declare are removed (and reported, for strict field validation
//! and warnings), `null` values of non-nullable fields are dropped, and `default`s of missing
//! properties are filled in top-down.

use serde_json::Value;

use super::structural::{additional, child, flag, index, key, properties};

/// Removes fields the schema does not declare, recording their paths in `unknown`, and drops
/// `null` values of non-nullable fields (both as the apiserver does before defaulting).
pub(crate) fn prune(schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let props = properties(schema);
            let extra = additional(schema);
            let allow_any =
                schema.get("additionalProperties").and_then(Value::as_bool) == Some(true);
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let sub = props.and_then(|p| p.get(&k)).or(extra);
                match sub {
                    Some(sub) => {
                        let drop_null =
                            map.get(&k).is_some_and(Value::is_null) && !flag(sub, "nullable");
                        if drop_null {
                            map.remove(&k);
                        } else if let Some(v) = map.get_mut(&k) {
                            let p = if props.is_some_and(|p| p.contains_key(&k)) {
                                child(path, &k)
                            } else {
                                key(path, &k)
                            };
                            prune(sub, v, &p, unknown);
                        }
                    }
                    None if preserve || allow_any => {}
                    None => {
                        map.remove(&k);
                        unknown.push(child(path, &k));
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item_schema, item, &index(path, i), unknown);
                }
            }
        }
        _ => {}
    }
}

/// Applies `default`s of missing properties, top-down, as the apiserver does on write.
pub(crate) fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = properties(schema) {
                for (k, sub) in props {
                    if !map.contains_key(k)
                        && let Some(d) = sub.get("default")
                    {
                        map.insert(k.clone(), d.clone());
                    }
                    if let Some(v) = map.get_mut(k) {
                        apply_defaults(sub, v);
                    }
                }
            }
            if let Some(extra) = additional(schema) {
                let known = properties(schema);
                for (k, v) in map.iter_mut() {
                    if known.is_none_or(|p| !p.contains_key(k)) {
                        apply_defaults(extra, v);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item_schema, item);
                }
            }
        }
        _ => {}
    }
}
