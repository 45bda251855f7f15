//! The typed check of a server-side apply: before merging, the apiserver converts the applied
//! configuration into a typed value of the schema (structured-merge-diff's `ObjectToTyped`),
//! and a field the schema does not declare makes that fail with a bare 500
//! (`failed to create typed patch object (<ns>/<name>; <group>/<version>, Kind=<Kind>):
//! .spec.x: field not declared in schema`), whatever `fieldValidation` says. Field validation
//! (400 for strict, warnings, pruning) only ever sees creates and updates.
//!
//! Paths are written as structured-merge-diff prints them: `.spec.instances[name="a"].x` for
//! items of map-keyed lists, `[="v"]` for sets, `[0]` for atomic lists. A custom resource is
//! typed against both PGO schemas; a field only one of them lacks says which.
//! Not modelled: values of the wrong type (upstream also fails them here, with `expected
//! string, got ...`; this server leaves them to admission), and unknown fields whose value is
//! `null` (which upstream reports too).

use serde_json::Value;

use super::fieldset::{display, key_element};
use super::hints::{Cursor, ListKind};
use crate::error::ApiError;
use crate::resources::ResourceDef;

/// What structured-merge-diff says of a field no schema declares.
const UNDECLARED: &str = "field not declared in schema";

/// Refuses an applied configuration naming fields the type's schema does not declare.
pub(crate) fn check_declared(def: &'static ResourceDef, applied: &Value) -> Result<(), ApiError> {
    let Some(views) = crate::admission::declared_views(def, applied) else {
        return Ok(());
    };
    let cursor = Cursor::root(def);
    let per_view: Vec<(Option<String>, Vec<String>)> = views
        .into_iter()
        .map(|(schema, declared)| {
            let mut paths = Vec::new();
            undeclared(applied, &declared, &cursor, "", &mut paths);
            (schema, paths)
        })
        .collect();
    let mut errors: Vec<String> = Vec::new();
    for (_, paths) in &per_view {
        for path in paths {
            let lacking: Vec<&str> = per_view
                .iter()
                .filter(|(_, p)| p.contains(path))
                .filter_map(|(schema, _)| schema.as_deref())
                .collect();
            let error = if lacking.len() == per_view.len() || lacking.is_empty() {
                format!("{path}: {UNDECLARED}")
            } else {
                format!("{path}: {UNDECLARED} ({})", lacking.join(", "))
            };
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let ns = crate::meta::meta_str(applied, "namespace").unwrap_or("");
    let name = crate::meta::meta_str(applied, "name").unwrap_or("");
    Err(ApiError::untyped_apply(
        def,
        &format!("{ns}/{name}"),
        &errors,
    ))
}

/// Paths (structured-merge-diff notation) of `input` that `declared` lacks.
fn undeclared(input: &Value, declared: &Value, cursor: &Cursor, path: &str, out: &mut Vec<String>) {
    match (input, declared) {
        (Value::Object(given), Value::Object(known)) => {
            for (name, value) in given {
                // A null is indistinguishable from an absent optional field once decoded.
                if value.is_null() {
                    continue;
                }
                let here = format!("{path}.{name}");
                match known.get(name) {
                    Some(k) => undeclared(value, k, &cursor.field(name), &here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(given), Value::Array(known)) => {
            let kind = cursor.list_kind();
            let item = cursor.item();
            for (n, (value, k)) in given.iter().zip(known).enumerate() {
                let element = match &kind {
                    ListKind::Atomic => format!("[{n}]"),
                    ListKind::Set => format!("[={value}]"),
                    ListKind::Map(keys) => display(&[key_element(value, keys)]),
                };
                undeclared(value, k, &item, &format!("{path}{element}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::RESOURCES;
    use serde_json::json;

    fn def(kind: &str) -> &'static ResourceDef {
        RESOURCES.iter().find(|d| d.kind == kind).expect("served")
    }

    #[test]
    fn undeclared_fields_are_named_with_list_keys_and_indexes() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "p", "namespace": "ns", "colour": "blue" },
            "spec": {
                "containers": [{ "name": "a", "image": "x", "ports": [{ "containerPort": 5432, "protocol": "TCP", "bogus": 1 }] }],
                "tolerations": [{ "key": "k", "weight": 2 }]
            }
        });
        let err = check_declared(def("Pod"), &pod).expect_err("undeclared");
        assert_eq!(err.code, 500);
        assert_eq!(
            err.message,
            "failed to create typed patch object (ns/p; /v1, Kind=Pod): errors:\n  \
             .metadata.colour: field not declared in schema\n  \
             .spec.containers[name=\"a\"].ports[containerPort=5432,protocol=\"TCP\"].bogus: field not declared in schema\n  \
             .spec.tolerations[0].weight: field not declared in schema"
        );
        let fine = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "data": { "a": "b" } });
        assert!(check_declared(def("ConfigMap"), &fine).is_ok());
    }
}
