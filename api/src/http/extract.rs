//! Extractors that reject with problem+json instead of axum's plain-text rejections.
//! JSON bodies go through `serde_path_to_error`, so a 422 names the exact field path; routes
//! that check existence or permission take [`ApiBody`] and parse it after those checks.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::FieldError;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(not_json());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// An optional JSON body (`Option<ApiJson<T>>`): an empty body is `None`; any other must be JSON.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(body_rejection)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// A JSON request body, read but not yet parsed. Handlers [`ApiBody::parse`] it after they
/// have found what the request names and checked the caller may act on it, so the order of
/// answers is the same on every route: 404 (nothing there, or not for you), 403 (not allowed),
/// then 415/400/422 (what is wrong with the body), then 501 (the platform cannot).
pub struct ApiBody<T> {
    is_json: bool,
    bytes: Bytes,
    of: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> ApiBody<T> {
    /// The body as `T`: 415 unless it is JSON, 400 unless it parses, 422 naming the field.
    pub fn parse(self) -> Result<T, ApiError> {
        if !self.is_json {
            return Err(not_json());
        }
        parse_json(&self.bytes)
    }
}

impl<S: Send + Sync, T> FromRequest<S> for ApiBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = is_json(&req);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Ok(ApiBody {
            is_json,
            bytes,
            of: std::marker::PhantomData,
        })
    }
}

/// An optional body (`Option<ApiBody<T>>`): an empty one is `None`.
impl<S: Send + Sync, T> axum::extract::OptionalFromRequest<S> for ApiBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let body = <Self as FromRequest<S>>::from_request(req, state).await?;
        Ok((!body.bytes.is_empty()).then_some(body))
    }
}

/// Whether the request says its body is JSON (`application/json` or any `+json` type).
fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"))
}

fn not_json() -> ApiError {
    ApiError::status(
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request body must be JSON (Content-Type: application/json)",
    )
}

/// Parses JSON, telling syntax errors (400) from shape errors (422 naming the field).
/// A string holding a NUL (U+0000), which PostgreSQL cannot store, is a 422 naming its field.
/// A number with a zero fraction (`18.0`) is the integer it equals, as JSON Schema counts it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    if let Some(path) = super::nul::json_path(&value) {
        return Err(ApiError::validation(vec![FieldError::new(
            body_field(path),
            super::nul::MESSAGE,
        )]));
    }
    whole_numbers_as_integers(&mut value);
    // Strict: an array is not read as a struct (serde alone would take one).
    serde_path_to_error::deserialize(crate::strict_json::Strict(value)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        ApiError::validation(vec![FieldError::new(
            body_field(path),
            data_error_message(&inner),
        )])
    })
}

/// A field path as `errors[]` names it: the body itself is `body`.
fn body_field(path: String) -> String {
    if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path
    }
}

/// Rewrites every float with a zero fraction that an integer can hold (`3.0`, `1e3`) as that
/// integer, so integer fields take what JSON Schema calls an integer.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Exactly representable range, so the conversion below is exact.
            const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
            if f.fract() == 0.0 && f.abs() <= LIMIT {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// serde's message without the trailing " at line 1 column 9", which means nothing to a client.
fn data_error_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => humanize(&text[..cut]),
        None => humanize(&text),
    }
}

/// serde's wording with the Rust types it names (`expected u32`, `expected struct QuotaIn`)
/// replaced by what a client of the API knows.
fn humanize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("expected ") {
        let (head, tail) = rest.split_at(at + "expected ".len());
        out.push_str(head);
        let word_end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let (word, after) = tail.split_at(word_end);
        let (said, after) = match word {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => ("a whole number, 0 or more", after),
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => ("a whole number", after),
            "f32" | "f64" => ("a number", after),
            "struct" => {
                // `struct QuotaIn`: drop the type's name too.
                let name = after.trim_start();
                let end = name
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(name.len());
                ("an object", &name[end..])
            }
            _ => (word, after),
        };
        out.push_str(said);
        rest = after;
    }
    out.push_str(rest);
    out.replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected an object")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: map", "invalid type: object")
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::status(status, "request body is larger than the server accepts")
    } else {
        ApiError::bad_request(format!("request body could not be read: {rejection}"))
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let rejection = match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => return Ok(ApiPath(value)),
            Err(rejection) => rejection,
        };
        let text = rejection.body_text();
        let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
            return Err(ApiError::bad_request(format!("invalid path: {text}")));
        };
        // The parameters' names in order, to name the one at an index (tuple extractors).
        let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params.iter().map(|(k, _)| k.to_string()).collect(),
            Err(_) => Vec::new(),
        };
        let name_at = |index: usize| names.get(index).cloned();
        let (name, why) = match failed.into_kind() {
            ErrorKind::ParseErrorAtKey {
                key, expected_type, ..
            } => (Some(key), expected(expected_type)),
            ErrorKind::ParseErrorAtIndex {
                index,
                expected_type,
                ..
            } => (name_at(index), expected(expected_type)),
            ErrorKind::DeserializeError { key, message, .. } => {
                let why = if message.starts_with("UUID parsing failed") {
                    "must be a UUID".to_string()
                } else {
                    humanize(&message)
                };
                (Some(key), why)
            }
            ErrorKind::InvalidUtf8InPathParam { key } => {
                (Some(key), "is not UTF-8 once percent-decoded".to_string())
            }
            _ => (None, String::new()),
        };
        Err(match name {
            Some(name) => ApiError::bad_parameter(name, why),
            None => ApiError::bad_request(format!("invalid path: {text}")),
        })
    }
}

/// What a path parameter of Rust type `type_name` must be, in the client's words.
fn expected(type_name: &str) -> String {
    match type_name.rsplit("::").next().unwrap_or(type_name) {
        "Uuid" => "must be a UUID".to_string(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "must be a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "must be a whole number".to_string(),
        "bool" => "must be true or false".to_string(),
        _ => "is not valid here".to_string(),
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                // axum says "Failed to deserialize query string: <field>: <why>".
                let text = rejection.body_text();
                let reason = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest);
                Err(match reason.split_once(": ") {
                    Some((field, why)) if !field.contains(' ') => {
                        ApiError::bad_parameter(field, humanize(why))
                    }
                    _ => ApiError::bad_request(format!("invalid query string: {reason}")),
                })
            }
        }
    }
}
