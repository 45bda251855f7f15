//! A stand-in for pgplane in unit tests: an HTTP server on a local port that answers each
//! request with what `route(method, path with query, JSON body)` says, and records the calls.

use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::Api;
use crate::engine::Context;

pub struct Server {
    pub url: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `METHOD /path?query` of every request so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }
}

pub async fn serve<F>(route: F) -> Server
where
    F: Fn(&str, &str, &Json) -> (u16, Json) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    let route = Arc::new(route);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head, body) = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                raw.extend_from_slice(&buffer[..n]);
                let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&raw[..end]).to_string();
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while raw.len() < end + 4 + length {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buffer[..n]);
                }
                break (head, raw[end + 4..].to_vec());
            };
            let mut words = head.split_whitespace();
            let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            recorded
                .lock()
                .expect("calls")
                .push(format!("{method} {target}"));
            let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
            let (status, answer) = route(method, target, &body);
            let answer = if answer.is_null() {
                String::new()
            } else {
                answer.to_string()
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    Server { url, calls }
}

pub fn context(url: &str, default_tenant: Option<&str>) -> Context {
    Context {
        api: Api::new(url, "pgp_test").expect("client"),
        default_tenant: default_tenant.map(str::to_string),
        stop: CancellationToken::new(),
    }
}
