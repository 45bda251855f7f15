//! `Idempotency-Key` on writes: the same key with the same request replays the first response
//! (marked `Idempotent-Replayed: true`); the same key with a different request is 422; a retry
//! while the first is still running is 409. Keys are scoped by credential, so one caller can
//! never see another's stored response. Server errors are not stored, so they can be retried.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::audit::is_mutation;
use super::error::ApiError;
use crate::app::AppState;
use crate::secrets;
use crate::store::idempotency::{self, Claim, StoredResponse};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// Response headers kept with a stored response.
const KEPT_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::RETRY_AFTER,
];

pub async fn idempotent_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    if !is_mutation(request.method()) {
        return next.run(request).await;
    }
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) => k.to_string(),
        _ => {
            return ApiError::bad_parameter(
                "Idempotency-Key",
                "must be 1-255 visible ASCII characters",
            )
            .into_response();
        }
    };
    let scope = Sha256::digest(
        request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or(b"anonymous"),
    )
    .to_vec();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, state.settings.body_limit_bytes).await else {
        return ApiError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than the server accepts",
        )
        .into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    hasher.update(
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_default(),
    );
    hasher.update(b"\n");
    hasher.update(&body);
    let request_hash = hasher.finalize().to_vec();

    // No request outlives the request timeout; a claim older than that was abandoned.
    let abandoned_after = state.settings.request_timeout + std::time::Duration::from_secs(5);
    match idempotency::claim(&state.db, &scope, &key, &request_hash, abandoned_after).await {
        Err(error) => ApiError::from(error).into_response(),
        Ok(Claim::Mismatch) => ApiError::invalid_field(
            "Idempotency-Key",
            "was already used with a different request; use a new key for a new request",
        )
        .into_response(),
        Ok(Claim::InFlight) => {
            ApiError::conflict("a request with this Idempotency-Key is still being processed")
                .with_retry_after(1)
                .into_response()
        }
        Ok(Claim::Replay(stored)) => replay(&state, &scope, &key, stored),
        Ok(Claim::New) => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            remember(&state, &scope, &key, response).await
        }
    }
}

async fn remember(state: &AppState, scope: &[u8], key: &str, response: Response) -> Response {
    let status = response.status();
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = idempotency::release(&state.db, scope, key).await;
        return ApiError::internal("response body could not be buffered").into_response();
    };
    let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    let outcome = if retryable {
        idempotency::release(&state.db, scope, key).await
    } else {
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                Some((
                    name.to_string(),
                    parts.headers.get(name)?.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        // Sealed: the response may carry a secret (a new API key is shown once, in it).
        let context = secrets::idempotency_context(scope, key);
        let stored = StoredResponse {
            status: status.as_u16(),
            headers,
            body: state
                .secrets
                .seal(&bytes, &context)
                .into_string()
                .into_bytes(),
        };
        idempotency::complete(&state.db, scope, key, &stored).await
    };
    if let Err(error) = outcome {
        tracing::error!(%error, "failed to store idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(state: &AppState, scope: &[u8], key: &str, stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let body = match String::from_utf8(stored.body) {
        Ok(text) => {
            let context = secrets::idempotency_context(scope, key);
            match secrets::open_stored(&state.secrets, text, &context) {
                Ok(body) => body.into_bytes(),
                Err(error) => {
                    tracing::error!(%error, "a stored response does not open");
                    return ApiError::unavailable(
                        "the stored response of this request cannot be read (the service's secrets key is misconfigured); retry later",
                    )
                    .into_response();
                }
            }
        }
        // Not text, so not sealed: a response stored before encryption.
        Err(plaintext) => plaintext.into_bytes(),
    };
    let mut response = (status, body).into_response();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
