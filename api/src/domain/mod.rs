//! Pure rules of the product: names, roles and permissions, quota arithmetic. No I/O here:
//! every function takes plain values and is unit-tested without a database.

pub mod cluster;
pub mod insights;
pub mod names;
pub mod operation;
pub mod permissions;
pub mod quota;

/// One invalid input field: a JSON path (`resources.cpu`) and why it was refused.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    thiserror::Error,
)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the offending field in the request, e.g. `name` or `resources.cpu`.
    pub field: String,
    /// Why the value was refused.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
