//! POST (create), PUT (update) and PATCH (JSON / merge / strategic / apply); DELETE lives
//! in [`super::delete`].
//!
//! Each handler runs in one store transaction: read the current object, build the candidate
//! (body, patched object, or server-side-apply merge), check preconditions, admit it, record
//! managed fields, and commit. No-op writes commit nothing (no new resourceVersion, no event).

use serde_json::Value;

use super::path::Target;
use super::query::Query;
use super::read::key_of;
use super::{App, RequestMeta, json_response};
use crate::admission::{self, Admit, FieldValidation};
use crate::apply;
use crate::deletion::{self, Propagation};
use crate::error::ApiError;
use crate::meta;
use crate::patch::{self, PatchType};
use crate::store::{ObjKey, Txn};
use axum::response::Response;

fn admit_ctx<'a>(app: &App, t: &'a Target, q: &Query) -> Result<Admit<'a>, ApiError> {
    Ok(Admit {
        def: t.def,
        namespace: t.namespace.as_deref().unwrap_or(""),
        url_name: t.name.as_deref(),
        status: is_status(t)?,
        field_validation: FieldValidation::parse(
            q.field_validation.as_deref(),
            app.options.field_validation,
        )?,
    })
}

fn is_status(t: &Target) -> Result<bool, ApiError> {
    match t.subresource.as_deref() {
        None => Ok(false),
        Some("status") if t.def.status_subresource => Ok(true),
        Some(other) => Err(ApiError::path_not_found(&format!(
            "{}/{other}",
            t.def.plural
        ))),
    }
}

/// Ignoring resourceVersion and managedFields timestamps, are two objects the same?
fn equivalent(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = meta::meta_mut(&mut v) {
            m.remove("resourceVersion");
            if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
                for e in entries.iter_mut().filter_map(Value::as_object_mut) {
                    e.remove("time");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
}

fn check_namespace(txn: &Txn<'_>, t: &Target, name: &str) -> Result<(), ApiError> {
    let Some(ns) = t.namespace.as_deref().filter(|_| t.def.namespaced) else {
        return Ok(());
    };
    let namespace = txn
        .get(&ObjKey::new("namespaces", "", ns))
        .ok_or_else(|| ApiError::namespace_not_found(ns))?;
    if namespace.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(ApiError::forbidden(
            t.def,
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// Stamps a new object's identity and commits it (shared by POST and apply-create).
fn commit_create(txn: &mut Txn<'_>, t: &Target, mut object: Value) -> Result<Value, ApiError> {
    let name = meta::meta_str(&object, "name").unwrap_or("").to_string();
    check_namespace(txn, t, &name)?;
    let key = ObjKey::new(t.def.key(), t.namespace.as_deref().unwrap_or(""), &name);
    if txn.get(&key).is_some() {
        return Err(ApiError::already_exists(t.def, &name));
    }
    if let Some(m) = meta::meta_mut(&mut object) {
        m.insert("uid".into(), Value::from(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), Value::from(meta::now_rfc3339()));
    }
    Ok((*txn.put(key, object)).clone())
}

/// Commits an admitted update, or removes the object when the update emptied the finalizers
/// of an object being deleted. Returns the state to answer with.
fn commit_update(txn: &mut Txn<'_>, key: &ObjKey, old: &Value, mut object: Value) -> Value {
    if equivalent(&object, old) {
        return old.clone();
    }
    if deletion::update_completes_deletion(key, &object) {
        deletion::remove(txn, key, Propagation::Background);
        if let (Some(m), Some(rv)) = (
            meta::meta_mut(&mut object),
            meta::meta_str(old, "resourceVersion"),
        ) {
            m.insert("resourceVersion".into(), Value::from(rv));
        }
        return object;
    }
    let stored = (*txn.put(key.clone(), object)).clone();
    if key.res == "pods" {
        // A Pod that changed may no longer hold a claim being deleted.
        deletion::release_unused_claims(txn, &key.ns);
    }
    stored
}

fn check_resource_version(t: &Target, candidate: &Value, old: &Value) -> Result<(), ApiError> {
    let wanted = meta::meta_str(candidate, "resourceVersion").unwrap_or("");
    if !wanted.is_empty() && Some(wanted) != meta::meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict(t.def, t.name.as_deref().unwrap_or("")));
    }
    Ok(())
}

/// Types whose strategy forbids unconditional updates (custom resources, Leases) reject a
/// PUT without `metadata.resourceVersion`, as the apiserver does.
fn require_resource_version(t: &Target, body: &Value) -> Result<(), ApiError> {
    let unconditional_allowed = !t.def.is_custom() && t.def.model != crate::resources::Model::Lease;
    let rv = meta::meta_str(body, "resourceVersion").unwrap_or("");
    if unconditional_allowed || !rv.is_empty() {
        return Ok(());
    }
    let cause = crate::validation::FieldCause::invalid(
        "metadata.resourceVersion",
        &Value::from(0),
        "must be specified for an update",
    );
    let name = t.name.as_deref().unwrap_or("");
    Err(ApiError::invalid(t.def, name, vec![cause]))
}

/// POST: create.
pub(crate) fn create(
    app: &App,
    t: &Target,
    q: &Query,
    rm: &RequestMeta,
    body: &[u8],
) -> Result<Response, ApiError> {
    if t.name.is_some() {
        return Err(ApiError::method_not_allowed(
            "POST is only allowed on collections",
        ));
    }
    if t.def.namespaced && t.namespace.is_none() {
        return Err(ApiError::method_not_allowed("POST requires a namespace"));
    }
    let body = patch::parse_body(body, false)?;
    let ctx = admit_ctx(app, t, q)?;
    let manager = rm.manager(q);
    let (object, warnings) = app.store.write_with(!q.dry_run, |txn| {
        let admitted = admission::admit(&ctx, body, None)?;
        let mut object = admitted.object;
        apply::record_update(t.def, None, &mut object, &manager, false);
        admission::mutate(txn, &ctx, &mut object, None)?;
        Ok::<_, ApiError>((commit_create(txn, t, object)?, admitted.warnings))
    })?;
    Ok(json_response(201, &object, &warnings))
}

/// PUT: replace (main resource or `/status`).
pub(crate) fn update(
    app: &App,
    t: &Target,
    q: &Query,
    rm: &RequestMeta,
    body: &[u8],
) -> Result<Response, ApiError> {
    if app.faults.take_conflict(&rm.fault_subject()) {
        return Err(ApiError::conflict(t.def, t.name.as_deref().unwrap_or("")));
    }
    let key = key_of(t)?;
    let body = patch::parse_body(body, false)?;
    let ctx = admit_ctx(app, t, q)?;
    let manager = rm.manager(q);
    let (object, warnings) = app.store.write_with(!q.dry_run, |txn| {
        let old = txn
            .get(&key)
            .ok_or_else(|| ApiError::not_found(t.def, &key.name))?;
        require_resource_version(t, &body)?;
        check_resource_version(t, &body, &old)?;
        let admitted = admission::admit(&ctx, body, Some(&old))?;
        let mut object = admitted.object;
        apply::record_update(t.def, Some(&old), &mut object, &manager, ctx.status);
        admission::mutate(txn, &ctx, &mut object, Some(&old))?;
        Ok::<_, ApiError>((commit_update(txn, &key, &old, object), admitted.warnings))
    })?;
    Ok(json_response(200, &object, &warnings))
}

/// PATCH: JSON, merge, strategic-merge or server-side apply.
pub(crate) fn patch(
    app: &App,
    t: &Target,
    q: &Query,
    rm: &RequestMeta,
    body: &[u8],
) -> Result<Response, ApiError> {
    let kind = PatchType::from_content_type(&rm.content_type)?;
    if kind == PatchType::StrategicMerge && t.def.is_custom() {
        return Err(ApiError::unsupported_media_type(
            "application/strategic-merge-patch+json (strategic merge patch is not supported for custom resources)",
        ));
    }
    if kind != PatchType::Apply && q.force.is_some() {
        return Err(ApiError::bad_request(
            "force: Forbidden: may not be specified for non-apply patch",
        ));
    }
    if kind == PatchType::Apply && q.field_manager.is_none() {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if app.faults.take_conflict(&rm.fault_subject()) {
        return Err(ApiError::conflict(t.def, t.name.as_deref().unwrap_or("")));
    }
    let key = key_of(t)?;
    let patch_body = patch::parse_body(body, kind == PatchType::Apply)?;
    let ctx = admit_ctx(app, t, q)?;
    let manager = rm.manager(q);
    let (code, object, warnings) = app.store.write_with(!q.dry_run, |txn| {
        let old = txn.get(&key);
        if kind == PatchType::Apply {
            return apply_patch(
                txn,
                t,
                &ctx,
                &key,
                old.as_deref(),
                &patch_body,
                &manager,
                q.force == Some(true),
            );
        }
        let old = old.ok_or_else(|| ApiError::not_found(t.def, &key.name))?;
        let candidate = patch::apply(kind, &old, &patch_body)?;
        check_resource_version(t, &candidate, &old)?;
        let admitted = admission::admit(&ctx, candidate, Some(&old))?;
        let mut object = admitted.object;
        apply::record_update(t.def, Some(&old), &mut object, &manager, ctx.status);
        admission::mutate(txn, &ctx, &mut object, Some(&old))?;
        Ok((
            200,
            commit_update(txn, &key, &old, object),
            admitted.warnings,
        ))
    })?;
    Ok(json_response(code, &object, &warnings))
}

#[allow(clippy::too_many_arguments)]
fn apply_patch(
    txn: &mut Txn<'_>,
    t: &Target,
    ctx: &Admit<'_>,
    key: &ObjKey,
    old: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
) -> Result<(u16, Value, Vec<String>), ApiError> {
    if !applied.is_object() {
        return Err(ApiError::bad_request("an apply patch must be an object"));
    }
    for (field, expected) in [
        ("apiVersion", t.def.api_version()),
        ("kind", t.def.kind.to_string()),
    ] {
        match applied.get(field).and_then(Value::as_str) {
            Some(v) if v == expected => {}
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "{field} {v:?} of the applied object does not match {expected:?}"
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "{field} must be set in an apply patch"
                )));
            }
        }
    }
    match meta::meta_str(applied, "name") {
        Some(n) if n == key.name => {}
        _ => {
            return Err(ApiError::bad_request(
                "metadata.name of the applied object must match the name on the URL",
            ));
        }
    }
    apply::check_declared(t.def, applied)?;
    let Some(old) = old else {
        if ctx.status {
            return Err(ApiError::not_found(t.def, &key.name));
        }
        let merged = apply::server_side_apply(t.def, None, applied, manager, force, false)?;
        let create_ctx = Admit {
            url_name: None,
            ..*ctx
        };
        let admitted = admission::admit(&create_ctx, merged, None)?;
        let mut object = admitted.object;
        admission::mutate(txn, &create_ctx, &mut object, None)?;
        return Ok((201, commit_create(txn, t, object)?, admitted.warnings));
    };
    check_resource_version(t, applied, old)?;
    let merged = apply::server_side_apply(t.def, Some(old), applied, manager, force, ctx.status)?;
    let admitted = admission::admit(ctx, merged, Some(old))?;
    let mut object = admitted.object;
    admission::mutate(txn, ctx, &mut object, Some(old))?;
    Ok((200, commit_update(txn, key, old, object), admitted.warnings))
}
