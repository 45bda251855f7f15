//! pgplane's REST API as the provider calls it: JSON over HTTP(S) with the API key as a bearer
//! token, problem+json errors kept whole (their field errors become attribute diagnostics),
//! transient failures of reads retried, and operations followed until they end.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How often a running operation is polled.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Attempts of an idempotent request that failed in transit or with 502/503/504.
const ATTEMPTS: u32 = 4;
/// One request's limit (waiting for operations has its own, the resource's timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Api {
    base: String,
    key: String,
    http: HttpsClient,
    user_agent: String,
}

/// An answer with a 2xx status.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Json,
}

/// Why a request did not succeed.
#[derive(Debug)]
pub enum ApiError {
    /// No answer: connection refused, timeout, TLS.
    Transport(String),
    /// An error answer, with its problem document when it had one.
    Problem(Problem),
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    /// `(field, message)` pairs from the problem's `errors`.
    pub errors: Vec<(String, String)>,
    /// The operation that keeps the object busy, for a 409 that asks to wait for it.
    pub busy_with: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transport(reason) => write!(f, "pgplane could not be reached: {reason}"),
            ApiError::Problem(p) => {
                write!(f, "{} ({}): {}", p.title, p.status.as_u16(), p.detail)?;
                for (field, message) in &p.errors {
                    write!(f, "\n  {field}: {message}")?;
                }
                Ok(())
            }
        }
    }
}

impl ApiError {
    /// A 404: the object is gone (a delete of it has nothing left to do).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Problem(p) => Some(p.status),
            ApiError::Transport(_) => None,
        }
    }
}

/// How waiting for an operation ended, when it did not succeed.
#[derive(Debug)]
pub enum WaitError {
    Failed {
        state: String,
        reason: String,
    },
    TimedOut {
        waiting_for: String,
    },
    /// Terraform was interrupted (SIGINT) while waiting.
    Interrupted,
    Api(ApiError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Failed { state, reason } => write!(f, "the operation {state}: {reason}"),
            WaitError::TimedOut { waiting_for } => {
                write!(
                    f,
                    "timed out; the operation is still running ({waiting_for})"
                )
            }
            WaitError::Interrupted => write!(f, "interrupted; the operation goes on in pgplane"),
            WaitError::Api(e) => e.fmt(f),
        }
    }
}

impl Api {
    pub fn new(endpoint: &str, key: &str) -> anyhow::Result<Api> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Api {
            base: endpoint.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http,
            user_agent: format!("terraform-provider-pgplane/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    pub async fn get(&self, path: &str) -> Result<Answer, ApiError> {
        self.send(Method::GET, path, None, &[]).await
    }

    /// `GET`, with a 404 as `None`.
    pub async fn find(&self, path: &str) -> Result<Option<Answer>, ApiError> {
        match self.get(path).await {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn post(
        &self,
        path: &str,
        body: &Json,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ApiError> {
        self.send(Method::POST, path, Some(body), headers).await
    }

    pub async fn put(&self, path: &str, body: &Json) -> Result<Answer, ApiError> {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    /// A JSON merge patch, with `If-Match` when an ETag is known.
    pub async fn patch(
        &self,
        path: &str,
        body: &Json,
        etag: Option<&str>,
    ) -> Result<Answer, ApiError> {
        let headers: Vec<(&str, &str)> = etag.map(|tag| ("if-match", tag)).into_iter().collect();
        self.send(Method::PATCH, path, Some(body), &headers).await
    }

    pub async fn delete(&self, path: &str) -> Result<Answer, ApiError> {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Sends the request; an idempotent one (every method but POST and PATCH, or any request
    /// carrying an `Idempotency-Key`) is retried when it got no answer or a 502/503/504.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ApiError> {
        let retryable = !matches!(method, Method::POST | Method::PATCH)
            || headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"));
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let result = self.send_once(&method, path, body, headers).await;
            let transient = match &result {
                Err(ApiError::Transport(_)) => true,
                Err(ApiError::Problem(p)) => matches!(p.status.as_u16(), 502..=504),
                Ok(_) => false,
            };
            if !transient || !retryable || attempt >= ATTEMPTS {
                return result;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Json>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ApiError> {
        let content_type = if *method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, &self.user_agent);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = request
            .body(Full::new(bytes))
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| ApiError::Transport(format!("no answer within {REQUEST_TIMEOUT:?}")))?
            .map_err(|e| ApiError::Transport(transport_reason(&e)))?;
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| ApiError::Transport("the answer did not arrive in time".into()))?
            .map_err(|e| ApiError::Transport(e.to_string()))?
            .to_bytes();
        let body: Json = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into()))
        };
        if status.is_success() {
            Ok(Answer { status, etag, body })
        } else {
            Err(ApiError::Problem(problem(status, &body)))
        }
    }

    /// Follows a list's pages (`items`, `next_page_token` passed back as `page_token`) until an
    /// item is `wanted`; `None` when no page has it, or when the list itself is gone (404).
    pub async fn find_listed(
        &self,
        path: &str,
        wanted: impl Fn(&Json) -> bool,
    ) -> Result<Option<Json>, ApiError> {
        let mut token: Option<String> = None;
        loop {
            let url = match &token {
                Some(token) => format!("{path}?page_size=500&page_token={}", seg(token)),
                None => format!("{path}?page_size=500"),
            };
            let Some(page) = self.find(&url).await? else {
                return Ok(None);
            };
            if let Some(item) = page.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|item| wanted(item))
            {
                return Ok(Some(item.clone()));
            }
            match page.body["next_page_token"].as_str() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_string());
                }
                _ => return Ok(None),
            }
        }
    }

    /// Makes the call, and when it is refused because another operation runs on the object
    /// (a create still provisioning, someone's change from the portal), waits for that
    /// operation to end and calls again, until `limit`.
    pub async fn when_idle<F, Fut>(
        &self,
        limit: Duration,
        stop: &CancellationToken,
        mut call: F,
    ) -> Result<Answer, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Answer, ApiError>>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let result = call().await;
            let busy = match &result {
                Err(ApiError::Problem(p)) if p.status == StatusCode::CONFLICT => {
                    p.busy_with.clone()
                }
                _ => None,
            };
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(operation) = busy.filter(|_| !left.is_zero() && !stop.is_cancelled()) else {
                return result;
            };
            let running = self
                .get(&format!("/v1/operations/{}", seg(&operation)))
                .await?;
            // Its outcome is not ours to report: only that it ended.
            if let Err(WaitError::Interrupted) = self.wait(&running.body, left, stop).await {
                return result;
            }
        }
    }

    /// Follows the operation until it ends; `Ok` with its last document when it succeeded.
    pub async fn wait(
        &self,
        operation: &Json,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> Result<Json, WaitError> {
        let id = operation["id"].as_str().unwrap_or_default().to_string();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = operation.clone();
        loop {
            match last["state"].as_str().unwrap_or("pending") {
                "succeeded" => return Ok(last),
                state @ ("failed" | "cancelled") => {
                    return Err(WaitError::Failed {
                        state: state.to_string(),
                        reason: last["error"]
                            .as_str()
                            .unwrap_or("no reason given")
                            .to_string(),
                    });
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WaitError::TimedOut {
                    waiting_for: last["waiting_for"]
                        .as_str()
                        .unwrap_or("no step named")
                        .to_string(),
                });
            }
            tokio::select! {
                () = stop.cancelled() => return Err(WaitError::Interrupted),
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            last = self
                .get(&format!("/v1/operations/{id}"))
                .await
                .map_err(WaitError::Api)?
                .body;
        }
    }
}

fn transport_reason(error: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error;
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

fn problem(status: StatusCode, body: &Json) -> Problem {
    let errors = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Problem {
        status,
        title: body["title"]
            .as_str()
            .unwrap_or(status.canonical_reason().unwrap_or("error"))
            .to_string(),
        detail: body["detail"]
            .as_str()
            .map(str::to_string)
            .or_else(|| body.as_str().map(str::to_string))
            .unwrap_or_default(),
        errors,
        busy_with: body["context"]["operation_id"].as_str().map(str::to_string),
    }
}

/// A path segment, percent-encoded.
pub fn seg(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
