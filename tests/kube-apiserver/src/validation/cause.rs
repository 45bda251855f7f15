//! [`FieldCause`]: one reason an object was rejected, named by its field path.
//!
//! Messages reproduce `k8s.io/apimachinery/pkg/util/validation/field` (`Required value`,
//! `Invalid value: ...`, `Unsupported value: ...`, `Too long: ...`), so what a test sees here is
//! what `kubectl` would print against a real cluster.

use std::fmt;

use serde_json::Value;

use crate::error::StatusCause;

/// The machine-readable kind of a [`FieldCause`] (`details.causes[].reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CauseReason {
    /// `FieldValueRequired`: a required field is missing.
    Required,
    /// `FieldValueInvalid`: a value breaks a rule (pattern, minimum, CEL rule, ...).
    Invalid,
    /// `FieldValueTypeInvalid`: a value has the wrong JSON type.
    TypeInvalid,
    /// `FieldValueNotSupported`: a value is not in the enum.
    NotSupported,
    /// `FieldValueTooLong`: a string exceeds `maxLength`.
    TooLong,
    /// `FieldValueTooMany`: a list or map exceeds `maxItems`/`maxProperties`.
    TooMany,
    /// `FieldValueDuplicate`: a duplicate in a set or map-keyed list.
    Duplicate,
    /// `FieldValueForbidden`: a field may not be set (or changed) here.
    Forbidden,
    /// `FieldValueUnknown`: a field the schema does not declare (strict field validation).
    /// The real apiserver reports these in the message of a 400 without causes; the cause
    /// type is this crate's addition so tests can assert on the path.
    UnknownField,
}

impl CauseReason {
    /// The wire string (`FieldValueInvalid`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
            Self::UnknownField => "FieldValueUnknown",
        }
    }
}

/// One validation failure: which field, what kind, and the apiserver-style message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldCause {
    /// Field path as the apiserver prints it, e.g. `spec.instances[0].replicas`.
    pub field: String,
    /// What kind of failure this is.
    pub reason: CauseReason,
    /// Message without the field path, e.g. `Invalid value: -1: ... should be greater than or equal to 0`.
    pub message: String,
}

impl fmt::Display for FieldCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Renders a value the way `field.Error` does: strings quoted, numbers and booleans bare,
/// structured values as compact JSON.
pub(crate) fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The JSON type name of a value (`object`, `string`, ...), as used in type errors.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl FieldCause {
    fn new(field: &str, reason: CauseReason, message: String) -> Self {
        Self {
            field: field.to_string(),
            reason,
            message,
        }
    }

    pub(crate) fn required(field: &str, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self::new(field, CauseReason::Required, message)
    }

    pub(crate) fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        Self::new(
            field,
            CauseReason::Invalid,
            format!("Invalid value: {}: {detail}", render_value(value)),
        )
    }

    /// `Invalid value: <detail>`: the apiserver omits structured values (CEL rules on objects).
    pub(crate) fn invalid_without_value(field: &str, detail: &str) -> Self {
        Self::new(
            field,
            CauseReason::Invalid,
            format!("Invalid value: {detail}"),
        )
    }

    pub(crate) fn type_invalid(field: &str, value: &Value, expected: &str) -> Self {
        let actual = type_name(value);
        Self::new(
            field,
            CauseReason::TypeInvalid,
            format!(
                "Invalid value: {actual:?}: {field} in body must be of type {expected}: {actual:?}"
            ),
        )
    }

    pub(crate) fn not_supported(field: &str, value: &Value, allowed: &[Value]) -> Self {
        let list: Vec<String> = allowed.iter().map(render_value).collect();
        Self::new(
            field,
            CauseReason::NotSupported,
            format!(
                "Unsupported value: {}: supported values: {}",
                render_value(value),
                list.join(", ")
            ),
        )
    }

    pub(crate) fn too_long(field: &str, max: usize) -> Self {
        Self::new(
            field,
            CauseReason::TooLong,
            format!("Too long: may not be more than {max} bytes"),
        )
    }

    pub(crate) fn too_many(field: &str, actual: usize, max: usize) -> Self {
        Self::new(
            field,
            CauseReason::TooMany,
            format!("Too many: {actual}: must have at most {max} items"),
        )
    }

    pub(crate) fn duplicate(field: &str, value: &Value) -> Self {
        Self::new(
            field,
            CauseReason::Duplicate,
            format!("Duplicate value: {}", render_value(value)),
        )
    }

    pub(crate) fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(
            field,
            CauseReason::Forbidden,
            format!("Forbidden: {detail}"),
        )
    }

    pub(crate) fn unknown(field: &str) -> Self {
        Self::new(
            field,
            CauseReason::UnknownField,
            format!("unknown field {field:?}"),
        )
    }

    /// Appends a note (used to say which PGO schema version produced a cause).
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.message = format!("{} ({note})", self.message);
        self
    }

    pub(crate) fn into_status_cause(self) -> StatusCause {
        StatusCause {
            reason: self.reason.as_str().to_string(),
            message: self.message,
            field: self.field,
        }
    }
}
