//! pgplane's HTTP client of OpenID providers: discovery documents, key sets, and the token
//! endpoint. HTTPS with the system's roots (plain HTTP is only ever configured for loopback
//! test providers), bounded answers, and a timeout on every call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Longest answer read from a provider.
const MAX_BODY: usize = 1024 * 1024;
/// Longest a provider may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("cannot load the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// GET `url` as JSON (2xx only).
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|e| format!("{url}: {e}"))?;
        let (status, body) = self.send(request).await?;
        if !(200..300).contains(&status) {
            return Err(format!("{url} answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
    }

    /// POST a form to `url` with HTTP Basic client authentication; the status and JSON body.
    pub async fn post_form(
        &self,
        url: &str,
        (user, password): (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value), String> {
        use base64::Engine;
        // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(user),
            encode(password)
        ));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = http::Request::post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("{url}: {e}"))?;
        let (status, body) = self.send(request).await?;
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        Ok((status, json))
    }

    async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
        let url = request.uri().to_string();
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{url} did not answer within {TIMEOUT:?}"))?
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), MAX_BODY).collect(),
        )
        .await
        .map_err(|_| format!("{url}: the answer took longer than {TIMEOUT:?}"))?
        .map_err(|e| format!("{url}: {e}"))?
        .to_bytes();
        Ok((status, body))
    }
}
