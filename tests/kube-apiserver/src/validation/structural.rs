//! The value validations of a CRD's structural OpenAPI v3 schema, run by the apiserver after
//! pruning and defaulting ([`super::prune`]) and before CEL.
//!
//! Implemented here rather than with a generic JSON-Schema crate because Kubernetes gives the
//! keywords its own meaning: unknown fields are pruned (not "additionalProperties: false"
//! errors), `null` for a non-nullable field is dropped, `x-kubernetes-int-or-string` and
//! `x-kubernetes-list-type`/`-map-keys` exist, and error messages and field paths must look like
//! the apiserver's. Covered keywords: type, nullable, enum, required, properties,
//! additionalProperties, items, min/maxLength, pattern, format (date-time, duration, byte, int32,
//! int64), minimum/maximum (+exclusive), multipleOf, min/maxItems, min/maxProperties,
//! anyOf/allOf/oneOf/not, default, x-kubernetes-int-or-string,
//! x-kubernetes-preserve-unknown-fields, x-kubernetes-list-type, x-kubernetes-list-map-keys.

use serde_json::{Map, Value};

use super::cause::{FieldCause, render_value};

pub(crate) fn child(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

pub(crate) fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

pub(crate) fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// The schema for map values, when `additionalProperties` is a schema.
pub(crate) fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|a| a.is_object())
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    }
}

/// Runs every value validation of `schema` against `value`, pushing causes.
pub(crate) fn validate(schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldCause>) {
    if value.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            let ty = schema
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("object");
            out.push(FieldCause::type_invalid(path, value, ty));
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            out.push(FieldCause::type_invalid(path, value, "integer,string"));
            return;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_matches(ty, value)
    {
        out.push(FieldCause::type_invalid(path, value, ty));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(FieldCause::not_supported(path, value, allowed));
    }
    match value {
        Value::String(s) => validate_string(schema, s, value, path, out),
        Value::Number(_) => validate_number(schema, value, path, out),
        Value::Array(items) => validate_array(schema, items, value, path, out),
        Value::Object(map) => validate_object(schema, map, value, path, out),
        _ => {}
    }
    validate_combinators(schema, value, path, out);
}

fn validate_string(schema: &Value, s: &str, value: &Value, path: &str, out: &mut Vec<FieldCause>) {
    let len = s.chars().count();
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len as u64 > max
    {
        out.push(FieldCause::too_long(path, max as usize));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && (len as u64) < min
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && crate::meta::regex(pattern).is_some_and(|r| !r.is_match(s))
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should match '{pattern}'"),
        ));
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !super::formats::string_format_ok(format, s)
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!(
                "{path} in body must be of type {format}: {}",
                render_value(value)
            ),
        ));
    }
}

fn validate_number(schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldCause>) {
    let Some(n) = value.as_f64() else { return };
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMinimum");
        if (exclusive && n <= min) || (!exclusive && n < min) {
            let op = if exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            out.push(FieldCause::invalid(
                path,
                value,
                &format!("{path} in body should be {op} {}", fmt_num(min)),
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMaximum");
        if (exclusive && n >= max) || (!exclusive && n > max) {
            let op = if exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            out.push(FieldCause::invalid(
                path,
                value,
                &format!("{path} in body should be {op} {}", fmt_num(max)),
            ));
        }
    }
    if let Some(m) = schema.get("multipleOf").and_then(Value::as_f64)
        && m > 0.0
        && (n / m).fract() != 0.0
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should be a multiple of {}", fmt_num(m)),
        ));
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let out_of_range = match format {
            "int32" => value.as_i64().is_none_or(|i| i32::try_from(i).is_err()),
            "int64" => value.as_i64().is_none(),
            _ => false,
        };
        if out_of_range {
            out.push(FieldCause::invalid(
                path,
                value,
                &format!(
                    "{path} in body must be of type {format}: {}",
                    render_value(value)
                ),
            ));
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn validate_array(
    schema: &Value,
    items: &[Value],
    value: &Value,
    path: &str,
    out: &mut Vec<FieldCause>,
) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        out.push(FieldCause::too_many(path, items.len(), max as usize));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should have at least {min} items"),
        ));
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    out.push(FieldCause::duplicate(&index(path, i), item));
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |item: &Value| -> Value {
                let mut m = Map::new();
                for k in &keys {
                    if let Some(v) = item.get(*k) {
                        m.insert((*k).to_string(), v.clone());
                    }
                }
                Value::Object(m)
            };
            let all: Vec<Value> = items.iter().map(key_of).collect();
            for (i, k) in all.iter().enumerate() {
                if all[..i].contains(k) {
                    out.push(FieldCause::duplicate(&index(path, i), k));
                }
            }
        }
        _ => {}
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &index(path, i), out);
        }
    }
}

fn validate_object(
    schema: &Value,
    map: &Map<String, Value>,
    value: &Value,
    path: &str,
    out: &mut Vec<FieldCause>,
) {
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                out.push(FieldCause::required(&child(path, r), ""));
            }
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && map.len() as u64 > max
    {
        out.push(FieldCause::too_many(path, map.len(), max as usize));
    }
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && (map.len() as u64) < min
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should have at least {min} properties"),
        ));
    }
    let props = properties(schema);
    for (k, v) in map {
        if let Some(sub) = props.and_then(|p| p.get(k)) {
            validate(sub, v, &child(path, k), out);
        } else if let Some(extra) = additional(schema) {
            validate(extra, v, &key(path, k), out);
        }
    }
}

fn validate_combinators(schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldCause>) {
    let passes = |branch: &Value| {
        let mut scratch = Vec::new();
        validate(branch, value, path, &mut scratch);
        scratch.is_empty()
    };
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array)
        && !branches.iter().any(passes)
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body must validate at least one schema (anyOf)"),
        ));
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array)
        && branches.iter().filter(|b| passes(b)).count() != 1
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body must validate one and only one schema (oneOf)"),
        ));
    }
    if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
        for b in branches {
            validate(b, value, path, out);
        }
    }
    if let Some(not) = schema.get("not")
        && passes(not)
    {
        out.push(FieldCause::invalid(
            path,
            value,
            &format!("{path} in body should not validate the schema (not)"),
        ));
    }
}
