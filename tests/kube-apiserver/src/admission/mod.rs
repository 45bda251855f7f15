//! Admission of a write: everything between "the client sent this object" and "this object is
//! stored", except resourceVersion stamping (store) and managedFields (apply).
//!
//! Order, as in the apiserver: type identity and namespace/name checks (400), status or spec
//! reset for status-subresource types, server-owned metadata carried over from the old object,
//! decode with pruning of unknown fields (strict: 400), defaulting, validation (422), then
//! generation bookkeeping. Per-type rules live in [`builtin`] (with [`network`] and
//! [`limits`]) and in `crate::validation`. The mutating admission plugins ([`plugins`]) run
//! separately ([`mutate`]), after the write's managed fields are recorded.

mod builtin;
mod limits;
mod network;
mod plugins;

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::meta::{self, NameRule};
use crate::resources::{Model, ResourceDef};
use crate::validation::schemas::CrdKind;
use crate::validation::{FieldCause, admit_custom};
pub(crate) use plugins::{PVC_PROTECTION, mutate};

/// The `fieldValidation` directive of a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown or duplicate fields fail the request with 400 BadRequest.
    Strict,
    /// Unknown fields are pruned and reported in `Warning` headers (the apiserver's default).
    Warn,
    /// Unknown fields are pruned silently.
    Ignore,
}

impl FieldValidation {
    pub(crate) fn parse(raw: Option<&str>, default: FieldValidation) -> Result<Self, ApiError> {
        match raw {
            None | Some("") => Ok(default),
            Some("Strict") => Ok(Self::Strict),
            Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// What a write is about.
pub(crate) struct Admit<'a> {
    pub def: &'static ResourceDef,
    /// Request namespace ("" for cluster-scoped types).
    pub namespace: &'a str,
    /// Name from the URL (updates, patches); `None` for creates.
    pub url_name: Option<&'a str>,
    /// Whether the write targets the `/status` subresource.
    pub status: bool,
    pub field_validation: FieldValidation,
}

/// An admitted object and the warnings to send back.
pub(crate) struct Admitted {
    pub object: Value,
    pub warnings: Vec<String>,
}

const SERVER_OWNED: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

fn name_rule(model: Model) -> NameRule {
    match model {
        Model::Namespace | Model::Service => NameRule::Label,
        _ => NameRule::Subdomain,
    }
}

/// Checks apiVersion/kind, namespace and name against the request.
fn check_identity(ctx: &Admit<'_>, object: &mut Value) -> Result<(), ApiError> {
    let def = ctx.def;
    let map = object
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body of the request must be a JSON object"))?;
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != def.api_version() => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({})",
                def.api_version()
            )));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if k != def.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )));
        }
        _ => {}
    }
    map.insert("apiVersion".into(), Value::from(def.api_version()));
    map.insert("kind".into(), Value::from(def.kind));
    let meta = meta::meta_mut(object)
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    if def.namespaced {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != ctx.namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                meta.insert("namespace".into(), Value::from(ctx.namespace));
            }
        }
    } else {
        meta.remove("namespace");
    }
    if let Some(url_name) = ctx.url_name {
        match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != url_name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )));
            }
            _ => {
                meta.insert("name".into(), Value::from(url_name));
            }
        }
    } else {
        meta::apply_generate_name(meta);
    }
    Ok(())
}

/// Resets what the targeted (sub)resource may not change and carries server-owned metadata.
fn reset_fields(ctx: &Admit<'_>, object: &mut Value, old: Option<&Value>) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    match old {
        None => {
            if ctx.def.status_subresource && ctx.def.model != Model::Namespace {
                map.remove("status");
            }
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                for k in SERVER_OWNED.iter().chain(["resourceVersion"].iter()) {
                    meta.remove(*k);
                }
            }
        }
        Some(old) => {
            if ctx.status {
                // Only .status may change through /status.
                let status = map.remove("status");
                let mut replaced = old.clone();
                if let Some(o) = replaced.as_object_mut() {
                    match status {
                        Some(s) => o.insert("status".into(), s),
                        None => o.remove("status"),
                    };
                    if let (Some(Value::Object(new_meta)), Some(Value::Object(m))) =
                        (map.get("metadata"), o.get_mut("metadata"))
                        && let Some(mf) = new_meta.get("managedFields")
                    {
                        m.insert("managedFields".into(), mf.clone());
                    }
                }
                *map = replaced.as_object().cloned().unwrap_or_default();
            } else if ctx.def.status_subresource {
                match old.get("status") {
                    Some(s) => map.insert("status".into(), s.clone()),
                    None => map.remove("status"),
                };
            }
            let old_meta = old.get("metadata").and_then(Value::as_object);
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                for k in SERVER_OWNED {
                    match old_meta.and_then(|m| m.get(*k)) {
                        Some(v) => meta.insert((*k).to_string(), v.clone()),
                        None => meta.remove(*k),
                    };
                }
            }
        }
    }
}

/// Everything outside metadata and status, for generation bookkeeping.
fn spec_part(object: &Value) -> Map<String, Value> {
    object
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn set_generation(def: &ResourceDef, object: &mut Value, old: Option<&Value>) {
    if !def.tracks_generation {
        return;
    }
    let generation = match old {
        None => 1,
        Some(old) => {
            let prev = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if spec_part(old) != spec_part(object) {
                prev + 1
            } else {
                prev
            }
        }
    };
    if let Some(meta) = meta::meta_mut(object) {
        meta.insert("generation".into(), Value::from(generation));
    }
}

/// Rejects finalizers added to an object that is being deleted.
fn check_finalizers(object: &Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let Some(old) = old else { return };
    if old.pointer("/metadata/deletionTimestamp").is_none() {
        return;
    }
    let before = meta::finalizers(old);
    let added: Vec<String> = meta::finalizers(object)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if !added.is_empty() {
        causes.push(FieldCause::forbidden(
            "metadata.finalizers",
            &format!("no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
        ));
    }
}

fn unknown_field_outcome(
    ctx: &Admit<'_>,
    unknown: Vec<FieldCause>,
) -> Result<Vec<String>, ApiError> {
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown.iter().map(|c| c.message.clone()).collect();
    match ctx.field_validation {
        FieldValidation::Strict => Err(ApiError::bad_request_with_causes(
            format!(
                "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                ctx.def.kind,
                ctx.def.version,
                ctx.def.kind,
                listed.join(", ")
            ),
            unknown,
        )),
        FieldValidation::Warn => Ok(listed),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

/// The object as each schema that types it declares it (fields the schema lacks removed), with
/// the schema's name when there are several (both PGO versions type a custom resource), or
/// `None` when the object does not even decode (admission reports that).
pub(crate) fn declared_views(
    def: &'static ResourceDef,
    object: &Value,
) -> Option<Vec<(Option<String>, Value)>> {
    let kind = match def.model {
        Model::PostgresCluster => CrdKind::PostgresCluster,
        Model::PgUpgrade => CrdKind::PgUpgrade,
        _ => {
            return builtin::decode(def, object)
                .ok()
                .map(|(o, _)| vec![(None, o)]);
        }
    };
    let (meta, _) = builtin::decode_metadata(def, object).ok()?;
    let mut body = object.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("metadata");
    }
    let views = crate::validation::declared_per_version(kind, &body)
        .into_iter()
        .map(|(version, mut declared)| {
            if let Some(m) = declared.as_object_mut() {
                m.insert("metadata".into(), meta.clone());
                for identity in ["apiVersion", "kind"] {
                    if let Some(v) = object.get(identity) {
                        m.insert(identity.into(), v.clone());
                    }
                }
            }
            (Some(format!("PGO {} schema", version.as_str())), declared)
        })
        .collect();
    Some(views)
}

/// Admits `new` (the full object the write would store) given the current `old` object.
pub(crate) fn admit(
    ctx: &Admit<'_>,
    mut new: Value,
    old: Option<&Value>,
) -> Result<Admitted, ApiError> {
    check_identity(ctx, &mut new)?;
    reset_fields(ctx, &mut new, old);
    let mut causes = Vec::new();
    let (mut object, unknown) = match ctx.def.model {
        Model::PostgresCluster | Model::PgUpgrade => {
            let kind = if ctx.def.model == Model::PgUpgrade {
                CrdKind::PgUpgrade
            } else {
                CrdKind::PostgresCluster
            };
            let (meta, meta_unknown) = builtin::decode_metadata(ctx.def, &new)?;
            let mut admission = admit_custom(kind, &new, old);
            if let Some(obj) = admission.object.as_object_mut() {
                obj.insert("metadata".into(), meta);
            }
            causes.append(&mut admission.causes);
            let mut unknown = meta_unknown;
            unknown.append(&mut admission.unknown);
            (admission.object, unknown)
        }
        _ => builtin::decode(ctx.def, &new)?,
    };
    let warnings = unknown_field_outcome(ctx, unknown)?;
    builtin::apply_type_rules(ctx, &mut object, old, &mut causes);
    if let Some(meta) = object.get("metadata") {
        meta::validate_metadata(meta, name_rule(ctx.def.model), &mut causes);
    }
    check_finalizers(&object, old, &mut causes);
    if !causes.is_empty() {
        let name = meta::meta_str(&object, "name").unwrap_or("").to_string();
        // Causes found before validation may repeat; report each once, in order.
        let mut unique: Vec<FieldCause> = Vec::new();
        for c in causes {
            if !unique.contains(&c) {
                unique.push(c);
            }
        }
        return Err(ApiError::invalid(ctx.def, &name, unique));
    }
    set_generation(ctx.def, &mut object, old);
    Ok(Admitted { object, warnings })
}
