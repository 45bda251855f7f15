//! Label and field selectors: parsing the query-string syntax and matching objects.
//!
//! Label selectors support the full set-based grammar of `k8s.io/apimachinery/pkg/labels`
//! (`k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`). Field
//! selectors support `metadata.name` and `metadata.namespace` for every type (plus `type` for
//! Secrets, `status.phase` for Namespaces, and `involvedObject.{kind,name,namespace,uid,
//! apiVersion}`, `reason` and `type` for Events), as the apiserver does; any other field is a
//! 400.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::ApiError;
use crate::resources::{Model, ResourceDef};

#[derive(Clone, Debug, PartialEq)]
enum LabelOp {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(BTreeSet<String>),
    NotIn(BTreeSet<String>),
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Clone, Debug, PartialEq)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelRequirement>);

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_set(rest: &str, raw: &str) -> Result<BTreeSet<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad_label(raw, "set must be enclosed in parentheses"))?;
    let values: BTreeSet<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    for v in &values {
        check_label_value(v).map_err(|e| bad_label(raw, &e))?;
    }
    Ok(values)
}

fn bad_label(raw: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: {raw:?}: {why}"))
}

/// Validates a label key (optional DNS-subdomain prefix + name part of at most 63 chars).
pub(crate) fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && crate::meta::check_dns_subdomain(p).is_err()
    {
        return Err(format!("prefix part of {key:?} must be a DNS subdomain"));
    }
    check_qualified_name_part(name).map_err(|e| format!("name part of {key:?} {e}"))
}

fn check_qualified_name_part(name: &str) -> Result<(), String> {
    let re = crate::meta::regex(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$");
    let matches = re.is_some_and(|r| r.is_match(name));
    if name.is_empty() || name.len() > 63 || !matches {
        return Err("must consist of alphanumeric characters, '-', '_' or '.', must start and end with an alphanumeric character and be at most 63 characters".into());
    }
    Ok(())
}

/// Validates a label value (empty, or at most 63 chars of the qualified-name alphabet).
pub(crate) fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_qualified_name_part(value).map_err(|e| format!("a valid label value {e}"))
}

impl LabelSelector {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if raw.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in split_top_level(raw) {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad_label(raw, "empty requirement"));
            }
            reqs.push(Self::parse_requirement(part, raw)?);
        }
        Ok(Self(reqs))
    }

    fn parse_requirement(part: &str, raw: &str) -> Result<LabelRequirement, ApiError> {
        let key_check = |k: &str| check_label_key(k).map_err(|e| bad_label(raw, &e));
        if let Some(key) = part.strip_prefix('!') {
            let key = key.trim();
            key_check(key)?;
            return Ok(LabelRequirement {
                key: key.into(),
                op: LabelOp::NotExists,
            });
        }
        for (token, make) in [
            ("!=", LabelOp::NotEquals as fn(String) -> LabelOp),
            ("==", LabelOp::Equals),
            ("=", LabelOp::Equals),
        ] {
            if let Some((k, v)) = part.split_once(token) {
                let (k, v) = (k.trim(), v.trim());
                key_check(k)?;
                check_label_value(v).map_err(|e| bad_label(raw, &e))?;
                return Ok(LabelRequirement {
                    key: k.into(),
                    op: make(v.into()),
                });
            }
        }
        for (token, greater) in [(">", true), ("<", false)] {
            if let Some((k, v)) = part.split_once(token) {
                let k = k.trim();
                key_check(k)?;
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad_label(raw, "value must be an integer"))?;
                let op = if greater {
                    LabelOp::GreaterThan(n)
                } else {
                    LabelOp::LessThan(n)
                };
                return Ok(LabelRequirement { key: k.into(), op });
            }
        }
        let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
        if words.len() == 2 {
            let key = words[0].trim();
            let rest = words[1].trim();
            if let Some(set) = rest.strip_prefix("notin") {
                key_check(key)?;
                return Ok(LabelRequirement {
                    key: key.into(),
                    op: LabelOp::NotIn(parse_set(set, raw)?),
                });
            }
            if let Some(set) = rest.strip_prefix("in") {
                key_check(key)?;
                return Ok(LabelRequirement {
                    key: key.into(),
                    op: LabelOp::In(parse_set(set, raw)?),
                });
            }
            return Err(bad_label(raw, "expected one of in, notin, =, ==, !="));
        }
        key_check(part)?;
        Ok(LabelRequirement {
            key: part.into(),
            op: LabelOp::Exists,
        })
    }

    /// Whether an object (full JSON) carries matching `metadata.labels`.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match &r.op {
            LabelOp::Exists => get(&r.key).is_some(),
            LabelOp::NotExists => get(&r.key).is_none(),
            LabelOp::Equals(v) => get(&r.key) == Some(v.as_str()),
            LabelOp::NotEquals(v) => get(&r.key) != Some(v.as_str()),
            LabelOp::In(set) => get(&r.key).is_some_and(|v| set.contains(v)),
            LabelOp::NotIn(set) => get(&r.key).is_none_or(|v| !set.contains(v)),
            LabelOp::GreaterThan(n) => get(&r.key)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            LabelOp::LessThan(n) => get(&r.key)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
struct FieldRequirement {
    pointer: &'static str,
    value: String,
    equal: bool,
}

/// A parsed `fieldSelector`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<FieldRequirement>);

impl FieldSelector {
    pub fn parse(raw: &str, def: &ResourceDef) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if raw.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in raw.split(',') {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector {raw:?}: {part:?} is not of the form field=value"
                )));
            };
            let pointer = match (field.trim(), def.model) {
                ("metadata.name", _) => "/metadata/name",
                ("metadata.namespace", _) => "/metadata/namespace",
                ("type", Model::Secret) => "/type",
                ("status.phase", Model::Namespace) => "/status/phase",
                ("involvedObject.kind", Model::Event) => "/involvedObject/kind",
                ("involvedObject.name", Model::Event) => "/involvedObject/name",
                ("involvedObject.namespace", Model::Event) => "/involvedObject/namespace",
                ("involvedObject.uid", Model::Event) => "/involvedObject/uid",
                ("involvedObject.apiVersion", Model::Event) => "/involvedObject/apiVersion",
                ("reason", Model::Event) => "/reason",
                ("type", Model::Event) => "/type",
                (other, _) => {
                    return Err(ApiError::bad_request(format!(
                        "field label not supported: {other}"
                    )));
                }
            };
            reqs.push(FieldRequirement {
                pointer,
                value: value.trim().to_string(),
                equal,
            });
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = object
                .pointer(r.pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == r.value) == r.equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "labels": labels}})
    }

    #[test]
    fn set_based_requirements_match_like_apimachinery() {
        let o = obj(json!({"app": "db", "tier": "gold", "n": "5"}));
        let cases = [
            ("app", true),
            ("!app", false),
            ("app=db", true),
            ("app==db", true),
            ("app!=db", false),
            ("app in (db, web)", true),
            ("app notin (db)", false),
            ("missing notin (x)", true),
            ("tier in (silver),app=db", false),
            ("n>4,n<6", true),
            ("", true),
        ];
        for (sel, want) in cases {
            let parsed = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e:?}"));
            assert_eq!(parsed.matches(&o), want, "selector {sel}");
        }
    }

    #[test]
    fn malformed_label_selectors_are_bad_requests() {
        for sel in ["app in db", "a=b=c=", "=x", "app in (a b)"] {
            let err = LabelSelector::parse(sel).err();
            assert_eq!(err.map(|e| e.code), Some(400), "selector {sel}");
        }
    }
}
