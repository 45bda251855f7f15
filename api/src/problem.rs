//! The one error type of the API and the service layer under it. Every failure a client sees is an RFC 9457 problem document
//! (`application/problem+json`) with a stable `type`, the status, a human `detail` and, for
//! bad input, `errors[]` naming each offending field. Internal errors are logged and answered
//! with a bare 500 that reveals nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::FieldError;
use crate::domain::cluster::Refusal;
use crate::store::StoreError;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Base of the stable problem `type` URIs.
const TYPE_BASE: &str = "https://pgplane.dev/problems/";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI identifying the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each invalid field and why; empty unless the request had bad fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra machine-readable facts (e.g. the exceeded quota limits, the running operation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// An error on its way to becoming a problem response (boxed: errors travel through every
/// handler's `Result`, which should stay small).
#[derive(Debug)]
pub struct ApiError(Box<ErrorParts>);

#[derive(Debug)]
struct ErrorParts {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    context: Option<serde_json::Value>,
    retry_after_seconds: Option<u64>,
    www_authenticate: bool,
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(ErrorParts {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            context: None,
            retry_after_seconds: None,
            www_authenticate: false,
        }))
    }

    /// 400: the request cannot be read at all (malformed JSON, bad query or path values).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 400 naming one bad parameter.
    pub fn bad_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self::bad_request(format!("invalid parameter `{field}`: {message}"))
            .with_errors(vec![FieldError::new(field, message)])
    }

    /// 422: the request was read but some fields are invalid.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("`{}` {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        )
        .with_errors(errors)
    }

    /// The same error with its field errors renamed (e.g. from spec paths to the fields of the
    /// request that produced them); a validation error's detail follows the new names.
    pub fn map_field_errors(mut self, rename: impl FnMut(FieldError) -> FieldError) -> Self {
        if self.0.errors.is_empty() {
            return self;
        }
        let errors: Vec<FieldError> = std::mem::take(&mut self.0.errors)
            .into_iter()
            .map(rename)
            .collect();
        if self.0.slug == "validation" {
            return Self::validation(errors);
        }
        self.0.errors = errors;
        self
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 401: no credential, or one that is not valid.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        );
        e.0.www_authenticate = true;
        e
    }

    /// 403: the caller is known and may see the resource, but not do this to it.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404, also used for resources of other tenants so their existence does not leak.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{} not found", what.into()),
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 412: `If-Match` did not match the current ETag.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            "the resource changed since it was read (If-Match does not match its ETag); read it again",
        )
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_seconds: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            detail,
        );
        e.0.retry_after_seconds = Some(retry_after_seconds);
        e
    }

    /// Any other status, for the fallback conversions.
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        Self::new(status, "http-error", title, detail)
    }

    /// 503 with `Retry-After`: a dependency is down for a moment (the client should retry).
    /// 501: this process's platform cannot do it.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_IMPLEMENTED, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        e.0.retry_after_seconds = Some(1);
        e
    }

    /// 500. The cause is logged here, never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server failed to handle the request; it has been logged",
        )
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    pub fn with_context(mut self, context: serde_json::Value) -> Self {
        self.0.context = Some(context);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after_seconds = Some(seconds);
        self
    }

    /// What the problem says, for a place that shows text rather than a problem document.
    pub fn detail_text(&self) -> String {
        self.0.detail.clone()
    }

    pub fn status_code(&self) -> StatusCode {
        self.0.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let parts = *self.0;
        let problem = Problem {
            kind: format!("{TYPE_BASE}{}", parts.slug),
            title: parts.title.to_string(),
            status: parts.status.as_u16(),
            detail: parts.detail,
            errors: parts.errors,
            context: parts.context,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (parts.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = parts.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if parts.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A refused cluster action is a 409 with the reason; while another operation runs, naming it
/// and when to ask again.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let error = ApiError::conflict(refusal.reason());
        match refusal {
            Refusal::State(_) => error,
            Refusal::Busy { operation_id, .. } => error
                .with_context(serde_json::json!({ "operation_id": operation_id }))
                .with_retry_after(5),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Constraint { constraint, .. } => ApiError::conflict(format!(
                "the change conflicts with existing data ({constraint})"
            )),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "metadata database unavailable");
                ApiError::unavailable("the metadata database is unavailable; retry shortly")
            }
            e if e.is_invalid_value() => {
                tracing::warn!(error = %e, "the metadata database refused a value of the request");
                ApiError::bad_request(
                    "a value in the request cannot be stored (too long, out of range, or holding characters that are not allowed)",
                )
            }
            StoreError::Database(e) => ApiError::internal(e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
