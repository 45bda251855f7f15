//! Makes every error a problem document: the router's fallbacks, panics, and errors produced by
//! layers that answer on their own (timeouts, body limits) with plain text or no body at all.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, PROBLEM_JSON};

pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!("path `{}`", request.uri().path()))
}

pub async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} is not allowed on `{}`",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Rewrites error responses that are not yet problem+json (keeping their status and headers).
pub async fn as_problem_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let detail = match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            "the request took too long or the service is unavailable; retry later"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "request body is larger than the server accepts",
        _ => status.canonical_reason().unwrap_or("request failed"),
    };
    let (mut parts, _) = response.into_parts();
    let problem = ApiError::status(status, detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(PROBLEM_JSON),
    );
    let (_, body) = problem.into_parts();
    Response::from_parts(parts, Body::new(body))
}

/// A handler panicked: log it and answer a bare 500 (the panic message is not for clients).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
