//! A small typed HTTP client for tests: every call returns a [`Call`] whose `expect(status)`
//! fails the test with the response body when the status differs. It speaks plain HTTP/1.1
//! to loopback servers through hyper (already in the graph through kube), so the tests need
//! no second HTTP client stack.

use bytes::Bytes;
pub use http::Method;
use http::header::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

type Http = Client<HttpConnector, Full<Bytes>>;

/// Why a request got no answer (connection refused, reset, a malformed response).
#[derive(Debug)]
pub struct SendError(String);

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SendError {}

/// An answered request, as the raw parts the helpers below need.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Result<Value, SendError> {
        serde_json::from_slice(&self.body).map_err(|e| SendError(format!("not JSON: {e}")))
    }
}

/// A connection pool. Each test client has its own (its connections' tasks live on the
/// runtime of the test that made it, and a test's runtime ends with the test).
fn new_pool() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends one request to an `http://` URL on a new connection and reads the whole answer.
pub async fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer, SendError> {
    request_with(&new_pool(), method, url, headers, body).await
}

/// Sends one request through `pool`. Like the usual HTTP clients, it accepts any media type
/// unless the caller says otherwise.
async fn request_with(
    pool: &Http,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer, SendError> {
    // Parsed as a browser or a URL-based client would: characters a URI cannot hold (a space
    // in a role name) are percent-encoded, the rest is sent as written.
    let url = url::Url::parse(url).map_err(|e| SendError(format!("{url}: {e}")))?;
    let url = url.as_str();
    let mut builder = http::Request::builder().method(method).uri(url);
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        builder = builder.header("accept", "*/*");
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| SendError(format!("{url}: {e}")))?;
    let response = pool
        .request(request)
        .await
        .map_err(|e| SendError(format!("{url}: {e:?}")))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| SendError(format!("{url}: reading the body: {e}")))?
        .to_bytes()
        .to_vec();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// `GET url`.
pub async fn get(url: &str) -> Result<Answer, SendError> {
    request(Method::GET, url, &[], Vec::new()).await
}

/// `POST url` with a JSON body.
pub async fn post_json(url: &str, body: &Value) -> Result<Answer, SendError> {
    let bytes = serde_json::to_vec(body).expect("JSON serialises");
    request(
        Method::POST,
        url,
        &[("content-type", "application/json")],
        bytes,
    )
    .await
}

#[derive(Clone)]
pub struct TestClient {
    pool: Http,
    base_url: String,
    credential: Option<String>,
}

/// A finished request.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Call {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Call {
        assert_eq!(
            self.status,
            status,
            "{} {} answered {} instead of {}: {}",
            self.method,
            self.path,
            self.status,
            status,
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The body as JSON (Null when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    /// Asserts an RFC 9457 problem with this status, naming `field` in `errors[]` if given.
    #[track_caller]
    pub fn expect_problem(self, status: u16, field: Option<&str>) -> Value {
        let call = self.expect(status);
        let content_type = call.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content-type {content_type}"
        );
        let body = call.json();
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["type"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        if let Some(field) = field {
            let fields: Vec<&str> = body["errors"].as_array().map_or(vec![], |e| {
                e.iter().filter_map(|e| e["field"].as_str()).collect()
            });
            assert!(
                fields.contains(&field),
                "expected an error on `{field}`, got {body}"
            );
        }
        body
    }
}

impl TestClient {
    pub fn new(base_url: &str, credential: Option<String>) -> Self {
        Self {
            pool: new_pool(),
            base_url: base_url.to_string(),
            credential,
        }
    }

    /// The same client with another credential.
    pub fn with_credential(&self, credential: &str) -> Self {
        Self {
            credential: Some(credential.to_string()),
            ..self.clone()
        }
    }

    /// Sends a request with optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Call {
        self.try_send(method.clone(), path, body, headers)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`TestClient::send`] that returns connection errors instead of failing the test (for
    /// tests that make the server unavailable on purpose).
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Call, SendError> {
        let body = body.map(|b| serde_json::to_vec(&b).expect("JSON serialises"));
        let content_type = body.as_ref().map(|_| ("content-type", "application/json"));
        let extra: Vec<(&str, &str)> = content_type
            .into_iter()
            .chain(headers.iter().copied())
            .collect();
        self.exchange(method, path, &extra, body.unwrap_or_default())
            .await
    }

    /// Sends raw bytes with a content type (for malformed-input tests).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Call {
        self.exchange(
            method.clone(),
            path,
            &[("content-type", content_type)],
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Call, SendError> {
        let authorization = self.credential.as_ref().map(|c| format!("Bearer {c}"));
        let mut all: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        all.extend_from_slice(headers);
        let url = format!("{}{}", self.base_url, path);
        let answer = request_with(&self.pool, method.clone(), &url, &all, body).await?;
        Ok(Call {
            method,
            path: path.to_string(),
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        })
    }

    pub async fn get(&self, path: &str) -> Call {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Call {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Call {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Call {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Call {
        self.send(Method::DELETE, path, None, &[]).await
    }
}
