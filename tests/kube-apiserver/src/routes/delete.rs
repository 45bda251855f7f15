//! DELETE of one object (with preconditions, propagation policy, dry run) and of a
//! collection. The semantics (finalizers, garbage collection, namespaces) are in
//! [`crate::deletion`]; this module only speaks HTTP.

use axum::response::Response;
use serde_json::{Value, json};

use super::path::Target;
use super::query::Query;
use super::read::key_of;
use super::{App, json_response};
use crate::deletion::{self, Outcome, Propagation};
use crate::error::ApiError;
use crate::meta;
use crate::patch;
use crate::resources::Model;

/// DeleteOptions from the body (optional) merged with query parameters.
fn delete_options(
    q: &Query,
    body: &[u8],
) -> Result<(Propagation, Option<String>, Option<String>, bool), ApiError> {
    let opts = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        patch::parse_body(body, false)?
    };
    let policy = q.propagation_policy.clone().or_else(|| {
        opts.get("propagationPolicy")
            .and_then(Value::as_str)
            .map(String::from)
    });
    let policy = Propagation::parse(policy.as_deref()).ok_or_else(|| {
        ApiError::bad_request("propagationPolicy: Unsupported value: supported values: \"Foreground\", \"Background\", \"Orphan\"")
    })?;
    let uid = opts
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(String::from);
    let rv = opts
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(String::from);
    let dry = q.dry_run
        || opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok((policy, uid, rv, dry))
}

/// DELETE one object: 200 with a Success Status (built-in types) or the last state when
/// removed, 200 with the marked object when waiting for finalizers (upstream answers 202 only
/// to the deprecated `orphanDependents: false`, which this server does not take).
pub(crate) fn delete(app: &App, t: &Target, q: &Query, body: &[u8]) -> Result<Response, ApiError> {
    if t.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "DELETE is not supported on subresources",
        ));
    }
    let key = key_of(t)?;
    let (policy, uid, rv, dry) = delete_options(q, body)?;
    let outcome = app.store.write_with(!dry, |txn| {
        let current = txn.get(&key).ok_or_else(|| ApiError::not_found(t.def, &key.name))?;
        if let Some(uid) = &uid
            && meta::meta_str(&current, "uid") != Some(uid.as_str())
        {
            let mut e = ApiError::conflict(t.def, &key.name);
            e.message = format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta::meta_str(&current, "uid").unwrap_or(""));
            return Err(e);
        }
        if let Some(rv) = &rv
            && meta::meta_str(&current, "resourceVersion") != Some(rv.as_str())
        {
            let mut e = ApiError::conflict(t.def, &key.name);
            e.message = format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", meta::meta_str(&current, "resourceVersion").unwrap_or(""));
            return Err(e);
        }
        deletion::delete(txn, &key, policy).ok_or_else(|| ApiError::not_found(t.def, &key.name))
    })?;
    Ok(match outcome {
        Outcome::Pending(object) => json_response(200, &object, &[]),
        Outcome::Removed(object) if t.def.is_custom() || t.def.model == Model::Namespace => {
            json_response(200, &object, &[])
        }
        Outcome::Removed(object) => {
            let status = json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": key.name,
                    "group": t.def.group,
                    "kind": t.def.plural,
                    "uid": meta::meta_str(&object, "uid").unwrap_or(""),
                },
            });
            json_response(200, &status, &[])
        }
    })
}

/// DELETE a collection (with selectors): every matching object is deleted as by DELETE.
pub(crate) fn delete_collection(
    app: &App,
    t: &Target,
    q: &Query,
    body: &[u8],
) -> Result<Response, ApiError> {
    let (policy, _, _, dry) = delete_options(q, body)?;
    let labels = crate::selectors::LabelSelector::parse(&q.label_selector)?;
    let fields = crate::selectors::FieldSelector::parse(&q.field_selector, t.def)?;
    let (_, targets) = super::read::select(app, t, None, &labels, &fields)?;
    let deleted = app.store.write_with(!dry, |txn| {
        let mut items = Vec::new();
        for key in targets.keys() {
            match deletion::delete(txn, key, policy) {
                Some(Outcome::Pending(o) | Outcome::Removed(o)) => items.push(o),
                None => {}
            }
        }
        Ok::<_, ApiError>(items)
    })?;
    let rv = app.store.read(|s| s.rv());
    let body = json!({
        "apiVersion": t.def.api_version(),
        "kind": format!("{}List", t.def.kind),
        "metadata": { "resourceVersion": rv.to_string() },
        "items": deleted,
    });
    Ok(json_response(200, &body, &[]))
}
