//! GET of one object and LIST of a collection: resourceVersion semantics (`""` = latest, `"0"`
//! = any, `NotOlderThan`, `Exact` served from a snapshot), selectors, and `limit`/`continue`
//! pagination whose pages are all read at the first page's resourceVersion.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::path::Target;
use super::query::Query;
use super::{App, json_response};
use crate::error::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{ObjKey, TooOld};
use axum::response::Response;

pub(crate) fn key_of(t: &Target) -> Result<ObjKey, ApiError> {
    let name = t
        .name
        .as_deref()
        .ok_or_else(|| ApiError::method_not_allowed("a name is required"))?;
    Ok(ObjKey::new(
        t.def.key(),
        t.namespace.as_deref().unwrap_or(""),
        name,
    ))
}

/// GET one object (or its `status` subresource, which is the same object).
pub(crate) fn get(app: &App, t: &Target) -> Result<Response, ApiError> {
    if let Some(sub) = &t.subresource
        && !(sub == "status" && t.def.status_subresource)
    {
        return Err(ApiError::path_not_found(&format!("{}/{sub}", t.def.plural)));
    }
    let key = key_of(t)?;
    let name = t.name.as_deref().unwrap_or("");
    let object = app
        .store
        .read(|s| s.get(&key))
        .ok_or_else(|| ApiError::not_found(t.def, name))?;
    Ok(json_response(200, object.as_ref(), &[]))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, after: &ObjKey) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{}/{}\u{0}", after.ns, after.name),
    };
    let raw = serde_json::to_vec(&token).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE.encode(raw)
}

fn decode_continue(token: &str) -> Result<(u64, String, String), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let start = t.start.trim_end_matches('\u{0}');
    let (ns, name) = start.split_once('/').ok_or_else(bad)?;
    Ok((t.rv, ns.to_string(), name.to_string()))
}

/// Chooses the resourceVersion a list is served at.
fn list_version(q: &Query, current: u64) -> Result<u64, ApiError> {
    let requested = q.resource_version_number()?;
    match (q.resource_version_match.as_deref(), requested) {
        (Some(_), None) if q.resource_version.is_none() => Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        )),
        (Some("Exact"), None) => Err(ApiError::bad_request(
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        )),
        (Some("Exact"), Some(rv)) if rv > current => {
            Err(ApiError::too_large_resource_version(rv, current))
        }
        (Some("Exact"), Some(rv)) => Ok(rv),
        (None | Some("NotOlderThan"), Some(rv)) if rv > current => {
            Err(ApiError::too_large_resource_version(rv, current))
        }
        (None | Some("NotOlderThan"), _) => Ok(current),
        (Some(other), _) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

fn expired_continue() -> ApiError {
    ApiError::expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
    )
}

/// The objects a list or initial watch covers, at a resourceVersion, filtered.
pub(crate) fn select(
    app: &App,
    t: &Target,
    rv: Option<u64>,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Result<(u64, BTreeMap<ObjKey, Arc<Value>>), ApiError> {
    app.store.read(|s| {
        let at = rv.unwrap_or(s.rv());
        // What the apiserver answers once etcd compacted the revision (it serves recent
        // revisions from its watch cache, which this server does not model: see the crate docs).
        let objects = s
            .list_at(t.def.key(), t.namespace.as_deref(), at)
            .map_err(|TooOld { .. }| ApiError::list_too_old())?;
        let filtered = objects
            .into_iter()
            .filter(|(_, o)| labels.matches(o) && fields.matches(o))
            .collect();
        Ok((at, filtered))
    })
}

/// Strips `apiVersion`/`kind` from built-in list items, as the apiserver's JSON lists do.
fn list_item(t: &Target, object: &Value) -> Value {
    let mut item = object.clone();
    if !t.def.is_custom()
        && let Some(m) = item.as_object_mut()
    {
        m.remove("apiVersion");
        m.remove("kind");
    }
    item
}

/// LIST a collection.
pub(crate) fn list(app: &App, t: &Target, q: &Query) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(&q.label_selector)?;
    let fields = FieldSelector::parse(&q.field_selector, t.def)?;
    let (rv, start) = match &q.continue_token {
        Some(token) => {
            if q.resource_version.as_deref().is_some_and(|v| v != "0") {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (rv, ns, name) = decode_continue(token)?;
            if rv < app.store.read(|s| s.compacted()) {
                return Err(expired_continue());
            }
            (rv, Some(ObjKey::new(t.def.key(), &ns, &name)))
        }
        None => (app.store.read(|s| list_version(q, s.rv()))?, None),
    };
    let (rv, objects) = select(app, t, Some(rv), &labels, &fields)?;
    let mut items = Vec::new();
    let mut continue_token = None;
    let mut remaining = 0usize;
    let mut last_key = None;
    for (key, object) in objects
        .iter()
        .filter(|(k, _)| start.as_ref().is_none_or(|s| *k > s))
    {
        if q.limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        items.push(list_item(t, object));
        last_key = Some(key.clone());
    }
    if remaining > 0
        && let Some(k) = &last_key
    {
        continue_token = Some(encode_continue(rv, k));
    }
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if let Some(c) = continue_token {
        metadata["continue"] = Value::from(c);
        metadata["remainingItemCount"] = Value::from(remaining);
    }
    let body = json!({
        "apiVersion": t.def.api_version(),
        "kind": format!("{}List", t.def.kind),
        "metadata": metadata,
        "items": items,
    });
    Ok(json_response(200, &body, &[]))
}
