//! `x-kubernetes-validations` (CEL) rules of the PGO schemas, evaluated with `kube-cel`.
//!
//! Rules are compiled once per schema. A rule that `kube-cel` cannot compile is not silently
//! passed: it is removed from evaluation and listed by [`unevaluated_cel_rules`] (and in the
//! crate docs), with the reason. A rule that compiles but fails at run time (e.g. `no such
//! key`) rejects the object, which is what the apiserver does with CEL runtime errors.

use std::sync::Mutex;

use kube_cel::{CompilationError, CompiledSchema, ErrorKind, Validator};
use serde_json::Value;

use super::cause::FieldCause;
use super::schemas::{CrdKind, PgoVersion};

/// A CEL rule of a PGO schema that this server does not evaluate, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnevaluatedRule {
    /// The custom resource kind (`PostgresCluster`, `PGUpgrade`).
    pub kind: &'static str,
    /// The PGO release whose schema holds the rule.
    pub pgo_version: PgoVersion,
    /// Schema path of the rule, e.g. `spec.instances[*].dataVolumeClaimSpec`.
    pub path: String,
    /// The CEL expression.
    pub rule: String,
    /// Why it is not evaluated.
    pub reason: String,
}

/// The compiled rules of one schema.
pub(crate) struct CelRules {
    compiled: CompiledSchema,
}

static UNEVALUATED: Mutex<Vec<UnevaluatedRule>> = Mutex::new(Vec::new());

/// Walks the compiled tree, removing rules that did not compile and recording them.
fn strip_uncompiled(
    node: &mut CompiledSchema,
    path: &str,
    kind: CrdKind,
    version: PgoVersion,
    out: &mut Vec<UnevaluatedRule>,
) {
    let mut kept = Vec::new();
    for result in std::mem::take(&mut node.validations) {
        match result {
            Ok(r) => kept.push(Ok(r)),
            Err(e) => {
                let rule = match &e {
                    CompilationError::Parse { rule, .. }
                    | CompilationError::MessageExpressionParse { rule, .. } => rule.clone(),
                    _ => String::new(),
                };
                out.push(UnevaluatedRule {
                    kind: kind.kind(),
                    pgo_version: version,
                    path: path.to_string(),
                    rule,
                    reason: e.to_string(),
                });
            }
        }
    }
    node.validations = kept;
    for (name, child) in node.properties.iter_mut() {
        let p = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        strip_uncompiled(child, &p, kind, version, out);
    }
    if let Some(items) = node.items.as_mut() {
        strip_uncompiled(items, &format!("{path}[*]"), kind, version, out);
    }
    if let Some(extra) = node.additional_properties.as_mut() {
        strip_uncompiled(extra, &format!("{path}[*]"), kind, version, out);
    }
    for branch in node
        .all_of
        .iter_mut()
        .chain(node.one_of.iter_mut())
        .chain(node.any_of.iter_mut())
    {
        strip_uncompiled(branch, path, kind, version, out);
    }
}

impl CelRules {
    pub fn compile(root: &Value, kind: CrdKind, version: PgoVersion) -> Self {
        let mut compiled = kube_cel::compile_schema(root);
        let mut skipped = Vec::new();
        strip_uncompiled(&mut compiled, "", kind, version, &mut skipped);
        if let Ok(mut all) = UNEVALUATED.lock() {
            all.retain(|r| !(r.kind == kind.kind() && r.pgo_version == version));
            all.extend(skipped);
        }
        Self { compiled }
    }

    /// Evaluates every compiled rule against `object` (already pruned and defaulted).
    pub fn evaluate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
        thread_local! {
            static VALIDATOR: Validator = Validator::new();
        }
        let result = VALIDATOR.with(|v| v.validate_compiled(&self.compiled, object, old));
        let Err(errors) = result else {
            return Vec::new();
        };
        errors
            .into_vec()
            .into_iter()
            .map(|e| {
                let detail = match e.kind {
                    ErrorKind::ValidationFailure => e.message.clone(),
                    _ => format!("{} evaluating rule: {}", e.message, e.rule),
                };
                // As the apiserver prints CEL failures: a scalar's value is shown, an object's
                // or a list's is omitted.
                match value_at(object, &e.field_path) {
                    Some(v) if !v.is_object() && !v.is_array() => {
                        FieldCause::invalid(&e.field_path, v, &detail)
                    }
                    _ => FieldCause::invalid_without_value(&e.field_path, &detail),
                }
            })
            .collect()
    }
}

/// The value at a `a.b[0].c` path, if there is one.
fn value_at<'v>(object: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = object;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        cur = cur.get(name)?;
        for idx in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            cur = idx.parse::<usize>().ok().and_then(|i| cur.get(i))?;
        }
    }
    Some(cur)
}

/// Every CEL rule of the embedded schemas that is not evaluated, with the reason.
///
/// Forces the schemas to load. An empty list means every rule is evaluated.
pub fn unevaluated_cel_rules() -> Vec<UnevaluatedRule> {
    let _ = super::schemas::schemas(CrdKind::PostgresCluster);
    let _ = super::schemas::schemas(CrdKind::PgUpgrade);
    UNEVALUATED.lock().map(|v| v.clone()).unwrap_or_default()
}
