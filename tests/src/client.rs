//! A small typed HTTP client for tests: every call returns a [`Call`] whose `expect(status)`
//! fails the test with the response body when the status differs.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

#[derive(Clone)]
pub struct TestClient {
    http: reqwest::Client,
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
            http: reqwest::Client::new(),
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
    ) -> Result<Call, reqwest::Error> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{}", self.base_url, path));
        if let Some(credential) = &self.credential {
            request = request.bearer_auth(credential);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await?;
        Ok(Call {
            method,
            path: path.to_string(),
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        })
    }

    /// Sends raw bytes with a content type (for malformed-input tests).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Call {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{}", self.base_url, path));
        if let Some(credential) = &self.credential {
            request = request.bearer_auth(credential);
        }
        let response = request
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("send");
        Call {
            method,
            path: path.to_string(),
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        }
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
