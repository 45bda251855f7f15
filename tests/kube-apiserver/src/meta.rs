//! ObjectMeta rules shared by every resource type: name formats, labels and annotations,
//! `generateName`, and the server-owned fields (uid, timestamps, resourceVersion).
//!
//! The checks and messages follow `k8s.io/apimachinery/pkg/api/validation`, so a name that the
//! real apiserver rejects is rejected here with the same field path (`metadata.name`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use rand::RngExt;
use regex::Regex;
use serde_json::{Map, Value};

use crate::validation::FieldCause;

/// Compiles a regex once and returns the cached copy (patterns come from code and schemas).
/// `None` for a pattern the `regex` crate cannot compile (every pattern of the embedded
/// schemas compiles; a unit test in `validation::schemas` checks that).
pub(crate) fn regex(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = match cache.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    guard
        .entry(pattern.to_string())
        .or_insert_with(|| {
            Regex::new(pattern)
                .inspect_err(|e| tracing::warn!("pattern {pattern:?} not checked: {e}"))
                .ok()
        })
        .clone()
}

const DNS1123_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS1123_SUBDOMAIN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// RFC 1123 subdomain: what most object names must be.
pub(crate) fn check_dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    if !regex(DNS1123_SUBDOMAIN).is_some_and(|r| r.is_match(name)) {
        return Err("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into());
    }
    Ok(())
}

/// RFC 1123 label: names of Namespaces and Services.
pub(crate) fn check_dns_label(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if !regex(DNS1123_LABEL).is_some_and(|r| r.is_match(name)) {
        return Err("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".into());
    }
    Ok(())
}

/// Which name format a type's objects must use.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NameRule {
    Subdomain,
    Label,
}

/// Validates the client-settable parts of `metadata`: name, labels, annotations, finalizers.
pub(crate) fn validate_metadata(meta: &Value, rule: NameRule, causes: &mut Vec<FieldCause>) {
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        causes.push(FieldCause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let check = match rule {
            NameRule::Subdomain => check_dns_subdomain(name),
            NameRule::Label => check_dns_label(name),
        };
        if let Err(why) = check {
            causes.push(FieldCause::invalid(
                "metadata.name",
                &Value::from(name),
                &why,
            ));
        }
    }
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Err(why) = crate::selectors::check_label_key(k) {
                causes.push(FieldCause::invalid(
                    "metadata.labels",
                    &Value::from(k.as_str()),
                    &why,
                ));
            }
            let value = v.as_str().unwrap_or("");
            if let Err(why) = crate::selectors::check_label_value(value) {
                causes.push(FieldCause::invalid(
                    &format!("metadata.labels[{k}]"),
                    &Value::from(value),
                    &why,
                ));
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let total: usize = annotations
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        for k in annotations.keys() {
            if let Err(why) = crate::selectors::check_label_key(k) {
                causes.push(FieldCause::invalid(
                    "metadata.annotations",
                    &Value::from(k.as_str()),
                    &why,
                ));
            }
        }
        if total > 256 * 1024 {
            causes.push(FieldCause::too_long("metadata.annotations", 256 * 1024));
        }
    }
    if let Some(finalizers) = meta.get("finalizers").and_then(Value::as_array) {
        for (i, f) in finalizers.iter().enumerate() {
            let f = f.as_str().unwrap_or("");
            if f.contains('/') {
                if let Err(why) = crate::selectors::check_label_key(f) {
                    causes.push(FieldCause::invalid(
                        &format!("metadata.finalizers[{i}]"),
                        &Value::from(f),
                        &why,
                    ));
                }
            } else if f != "kubernetes" && f != "orphan" && f != "foregroundDeletion" {
                causes.push(FieldCause::invalid(
                    &format!("metadata.finalizers[{i}]"),
                    &Value::from(f),
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
    }
}

/// Replaces `metadata.generateName` by a generated `metadata.name` (5 random characters).
pub(crate) fn apply_generate_name(meta: &mut Map<String, Value>) {
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if has_name {
        return;
    }
    if let Some(prefix) = meta.get("generateName").and_then(Value::as_str) {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut rng = rand::rng();
        let suffix: String = (0..5)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let name = format!("{prefix}{suffix}");
        meta.insert("name".into(), Value::from(name));
    }
}

/// RFC 3339 timestamp with second precision, as `metav1.Time` serialises.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The `metadata` object of `obj`, created if missing; `None` only if `obj` is not an object.
pub(crate) fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
}

/// Reads a string field of `metadata`.
pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// The finalizers of an object (empty when absent).
pub(crate) fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}
