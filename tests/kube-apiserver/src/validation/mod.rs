//! Validation of PGO custom resources against BOTH the v5.8.9 and v6.0.3 `v1beta1` schemas.
//!
//! Owns the pipeline a custom resource goes through on write, per schema version: prune
//! unknown fields (`prune::prune`), apply defaults, run structural value validations,
//! then CEL rules. An object is admitted only when both versions accept it; causes found by
//! only one version say which. The stored object is pruned and defaulted with v6.0.3 (the
//! storage version). The public functions here give pgplane's tests the same verdict the
//! server gives, without a server.

pub(crate) mod cause;
pub(crate) mod cel;
mod formats;
mod prune;
pub(crate) mod schemas;
pub(crate) mod structural;

use serde_json::Value;

pub use cause::{CauseReason, FieldCause};
pub use cel::{UnevaluatedRule, unevaluated_cel_rules};
pub use schemas::PgoVersion;
use schemas::{CrdKind, schemas, storage_schema};

use crate::resources::PGO_GROUP;

/// What admission of one custom resource produced.
pub(crate) struct CustomAdmission {
    /// The object pruned and defaulted with the storage schema (metadata untouched).
    pub object: Value,
    /// Paths of fields unknown to at least one schema (with a note when only one).
    pub unknown: Vec<FieldCause>,
    /// Value-validation and CEL failures (deduplicated across versions).
    pub causes: Vec<FieldCause>,
}

/// Merges per-version cause lists: shared causes once, others annotated with their version.
fn merge_versions(per_version: Vec<(PgoVersion, Vec<FieldCause>)>) -> Vec<FieldCause> {
    let mut out: Vec<FieldCause> = Vec::new();
    let total = per_version.len();
    let mut seen: Vec<FieldCause> = Vec::new();
    for (_, causes) in &per_version {
        for c in causes {
            if seen.contains(c) {
                continue;
            }
            seen.push(c.clone());
            let holders: Vec<PgoVersion> = per_version
                .iter()
                .filter(|(_, cs)| cs.contains(c))
                .map(|(v, _)| *v)
                .collect();
            if holders.len() == total {
                out.push(c.clone());
            } else {
                let names: Vec<&str> = holders.iter().map(|v| v.as_str()).collect();
                out.push(
                    c.clone()
                        .with_note(&format!("PGO {} schema", names.join(", "))),
                );
            }
        }
    }
    out
}

/// Runs the per-version pipeline on a custom resource. `metadata` is left to the caller.
pub(crate) fn admit_custom(kind: CrdKind, object: &Value, old: Option<&Value>) -> CustomAdmission {
    let mut body = object.clone();
    let metadata = body.as_object_mut().and_then(|m| m.remove("metadata"));
    let mut unknown_per = Vec::new();
    let mut causes_per = Vec::new();
    let mut stored = None;
    for schema in schemas(kind) {
        let mut candidate = body.clone();
        let mut unknown = Vec::new();
        prune::prune(&schema.root, &mut candidate, "", &mut unknown);
        prune::apply_defaults(&schema.root, &mut candidate);
        let mut causes = Vec::new();
        structural::validate(&schema.root, &candidate, "", &mut causes);
        if causes.is_empty() {
            // CEL rules run only on structurally valid objects, as in the apiserver.
            let mut with_meta = candidate.clone();
            if let (Some(obj), Some(m)) = (with_meta.as_object_mut(), metadata.as_ref()) {
                let name = m.get("name").cloned().unwrap_or(Value::Null);
                obj.insert("metadata".into(), serde_json::json!({ "name": name }));
            }
            causes.extend(schema.cel.evaluate(&with_meta, old));
        }
        unknown_per.push((
            schema.version,
            unknown.iter().map(|p| FieldCause::unknown(p)).collect(),
        ));
        causes_per.push((schema.version, causes));
        if Some(schema.version) == storage_schema(kind).map(|s| s.version) {
            stored = Some(candidate);
        }
    }
    let mut object = stored.unwrap_or(body);
    if let (Some(obj), Some(m)) = (object.as_object_mut(), metadata) {
        obj.insert("metadata".into(), m);
    }
    CustomAdmission {
        object,
        unknown: merge_versions(unknown_per),
        causes: merge_versions(causes_per),
    }
}

/// `body` (a custom resource without `metadata`) as each schema version declares it: every
/// field that version does not declare removed. Server-side apply's typed check compares the
/// applied object with these.
pub(crate) fn declared_per_version(kind: CrdKind, body: &Value) -> Vec<(PgoVersion, Value)> {
    schemas(kind)
        .iter()
        .map(|schema| {
            let mut declared = body.clone();
            prune::prune(&schema.root, &mut declared, "", &mut Vec::new());
            (schema.version, declared)
        })
        .collect()
}

fn validate_custom(kind: CrdKind, object: &Value) -> Result<(), Vec<FieldCause>> {
    let mut causes = Vec::new();
    let api_version = object.get("apiVersion").cloned().unwrap_or(Value::Null);
    let expected = format!("{PGO_GROUP}/v1beta1");
    if api_version.as_str() != Some(expected.as_str()) {
        causes.push(FieldCause::invalid(
            "apiVersion",
            &api_version,
            &format!("must be {expected}"),
        ));
    }
    let kind_value = object.get("kind").cloned().unwrap_or(Value::Null);
    if kind_value.as_str() != Some(kind.kind()) {
        causes.push(FieldCause::invalid(
            "kind",
            &kind_value,
            &format!("must be {}", kind.kind()),
        ));
    }
    match object.get("metadata") {
        Some(meta) if meta.is_object() => {
            let mut meta = meta.clone();
            if let Some(m) = meta.as_object_mut() {
                crate::meta::apply_generate_name(m);
            }
            crate::meta::validate_metadata(&meta, crate::meta::NameRule::Subdomain, &mut causes);
        }
        _ => causes.push(FieldCause::required(
            "metadata.name",
            "name or generateName is required",
        )),
    }
    let admission = admit_custom(kind, object, None);
    causes.extend(admission.unknown);
    causes.extend(admission.causes);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(causes)
    }
}

/// Validates a `PostgresCluster` manifest exactly as this server admits it with strict field
/// validation: apiVersion/kind, metadata name and labels, unknown fields (as
/// [`CauseReason::UnknownField`]), the structural schema and the CEL rules of both PGO v5.8.9
/// and v6.0.3. `status` is validated too when present.
pub fn validate_postgrescluster(object: &Value) -> Result<(), Vec<FieldCause>> {
    validate_custom(CrdKind::PostgresCluster, object)
}

/// Validates a `PGUpgrade` manifest like [`validate_postgrescluster`].
pub fn validate_pgupgrade(object: &Value) -> Result<(), Vec<FieldCause>> {
    validate_custom(CrdKind::PgUpgrade, object)
}
