//! The one error type of the request path, rendered once as a Kubernetes `Status` object.
//!
//! Every failure a client can see goes through [`ApiError`]: the reason strings, codes, message
//! shapes and `details` follow `k8s.io/apimachinery/pkg/api/errors`, because clients (kube's
//! `Status::is_not_found()` and friends, the watcher's 410 handling) branch on them. Nothing
//! else in the crate builds an HTTP error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::resources::ResourceDef;
use crate::validation::FieldCause;

/// One entry of `details.causes[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusCause {
    /// Machine-readable cause (`FieldValueInvalid`, `FieldManagerConflict`, ...).
    pub reason: String,
    /// Human-readable message for this cause.
    pub message: String,
    /// Field path, e.g. `spec.instances[0].replicas`.
    pub field: String,
}

/// A failed request, carrying everything needed to render the `Status` body (boxed, so that
/// `Result<_, ApiError>` stays small on the request path).
#[derive(Clone, Debug)]
pub(crate) struct ApiError(Box<ApiErrorData>);

/// The fields of an [`ApiError`].
#[derive(Clone, Debug)]
pub(crate) struct ApiErrorData {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub name: String,
    pub group: String,
    pub kind: String,
    pub causes: Vec<StatusCause>,
    pub retry_after_seconds: Option<u32>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorData;
    fn deref(&self) -> &ApiErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorData {
        &mut self.0
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(ApiErrorData {
            code,
            reason,
            message: message.into(),
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            causes: Vec::new(),
            retry_after_seconds: None,
        }))
    }

    fn about(mut self, def: &ResourceDef, name: &str) -> Self {
        self.name = name.to_string();
        self.group = def.group.to_string();
        self.kind = def.plural.to_string();
        self
    }

    /// 404 for an object: `secrets "x" not found`.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.qualified_plural()),
        )
        .about(def, name)
    }

    /// 404 for a namespace that does not exist (namespaced create).
    pub fn namespace_not_found(namespace: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("namespaces \"{namespace}\" not found"),
        );
        e.name = namespace.to_string();
        e.kind = "namespaces".to_string();
        e
    }

    /// 404 for a path that names no known resource.
    pub fn path_not_found(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.qualified_plural()),
        )
        .about(def, name)
    }

    /// 409 for a stale `metadata.resourceVersion` (optimistic concurrency).
    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                def.qualified_plural()
            ),
        )
        .about(def, name)
    }

    /// 409 for server-side apply field-ownership conflicts, worded like structured-merge-diff's
    /// (`Apply failed with 1 conflict: conflict with "pgplane": .spec.port`; several are
    /// grouped by manager). As upstream, `details` carries only the causes (no name or kind).
    pub fn apply_conflict(causes: Vec<StatusCause>) -> Self {
        let message = match causes.as_slice() {
            [one] => format!(
                "Apply failed with 1 conflict: {}: {}",
                one.message, one.field
            ),
            many => {
                // Cause messages are `conflict with <manager>`; group the paths by manager.
                let mut by_manager: std::collections::BTreeMap<&str, Vec<&str>> =
                    std::collections::BTreeMap::new();
                for c in many {
                    let manager = c
                        .message
                        .strip_prefix("conflict with ")
                        .unwrap_or(&c.message);
                    by_manager.entry(manager).or_default().push(&c.field);
                }
                let mut lines = Vec::new();
                for (manager, paths) in by_manager {
                    lines.push(format!("conflicts with {manager}:"));
                    lines.extend(paths.iter().map(|p| format!("- {p}")));
                }
                format!(
                    "Apply failed with {} conflicts: {}",
                    many.len(),
                    lines.join("\n")
                )
            }
        };
        let mut e = Self::new(409, "Conflict", message);
        e.causes = causes;
        e
    }

    /// 500 without a reason: what a real apiserver answers (whatever `fieldValidation` says)
    /// to a server-side apply it cannot type against the schema, e.g. one naming a field the
    /// schema does not declare. `object` is `<namespace>/<name>` of the applied object.
    pub fn untyped_apply(def: &ResourceDef, object: &str, errors: &[String]) -> Self {
        let listed = match errors {
            [one] => one.clone(),
            many => {
                let lines: Vec<String> = many.iter().map(|e| format!("  {e}")).collect();
                format!("errors:\n{}", lines.join("\n"))
            }
        };
        Self::new(
            500,
            "",
            format!(
                "failed to create typed patch object ({object}; {}/{}, Kind={}): {listed}",
                def.group, def.version, def.kind
            ),
        )
    }

    /// 422 with one cause per invalid field, message shaped like the apiserver's.
    pub fn invalid(def: &ResourceDef, name: &str, causes: Vec<FieldCause>) -> Self {
        let rendered: Vec<String> = causes.iter().map(FieldCause::to_string).collect();
        let joined = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {joined}", def.qualified_kind()),
        );
        e.name = name.to_string();
        e.group = def.group.to_string();
        e.kind = def.kind.to_string();
        e.causes = causes
            .into_iter()
            .map(FieldCause::into_status_cause)
            .collect();
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 400 carrying field causes (strict field validation of unknown fields).
    pub fn bad_request_with_causes(message: impl Into<String>, causes: Vec<FieldCause>) -> Self {
        let mut e = Self::new(400, "BadRequest", message);
        e.causes = causes
            .into_iter()
            .map(FieldCause::into_status_cause)
            .collect();
        e
    }

    pub fn forbidden(def: &ResourceDef, name: &str, why: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", def.qualified_plural()),
        )
        .about(def, name)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 410 for a list at a resourceVersion older than the retained history (the message the
    /// apiserver gives when etcd has compacted the revision).
    pub fn list_too_old() -> Self {
        Self::expired("The resourceVersion for the provided list is too old.")
    }

    /// 410 for a resourceVersion or continue token older than the retained history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn too_many_requests(retry_after_seconds: u32) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        e.retry_after_seconds = Some(retry_after_seconds);
        e
    }

    /// 504 for a resourceVersion newer than anything the server has seen.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        let mut e = Self::new(
            504,
            "Timeout",
            format!("Too large resource version: {requested}, current: {current}"),
        );
        e.causes.push(StatusCause {
            reason: "ResourceVersionTooLarge".into(),
            message: "Too large resource version".into(),
            field: String::new(),
        });
        e.retry_after_seconds = Some(1);
        e
    }

    /// The `Status` object as JSON (also used inside watch `ERROR` events).
    pub fn to_status_json(&self) -> serde_json::Value {
        let mut details = serde_json::Map::new();
        if !self.name.is_empty() {
            details.insert("name".into(), json!(self.name));
        }
        if !self.group.is_empty() {
            details.insert("group".into(), json!(self.group));
        }
        if !self.kind.is_empty() {
            details.insert("kind".into(), json!(self.kind));
        }
        if !self.causes.is_empty() {
            details.insert("causes".into(), json!(self.causes));
        }
        if let Some(s) = self.retry_after_seconds {
            details.insert("retryAfterSeconds".into(), json!(s));
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        // `reason` is omitted when empty (a plain error the apiserver did not classify).
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if !details.is_empty() {
            status["details"] = serde_json::Value::Object(details);
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_status_json().to_string();
        let mut response =
            (code, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(secs) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
