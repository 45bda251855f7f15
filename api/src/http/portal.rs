//! The self-service portal (`web-client/`, built to a directory of static files) served at `/`.
//!
//! Vite names every file under `assets/` after a hash of its content, so those are cached for a
//! year; `index.html` and anything else outside `assets/` must be revalidated, or browsers would
//! keep loading old asset names after an upgrade. Paths the portal does not have fall back to
//! `index.html` (the single-page app routes on the client), except API paths: an unknown `/v1`
//! path stays a problem+json 404, and a missing asset is a 404 rather than HTML posing as script.
//! Source maps (`*.map`) are never served, even when a build left them in the directory: they
//! hand out the portal's whole source (the production build does not emit them).
//! This module only serves files; it never sees credentials (the portal calls `/v1` itself).

use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::problems;

/// For files whose name changes whenever their content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For `index.html` and other stable names: cache, but ask the server before each use.
const REVALIDATE: &str = "no-cache";

/// The built portal on disk.
#[derive(Clone, Debug)]
pub struct Portal {
    /// Files only: a missing asset is a 404.
    assets: ServeDir,
    /// Files, falling back to `index.html` for client-side routes.
    pages: ServeDir<ServeFile>,
}

impl Portal {
    /// Serves the portal built into `dir` (which holds `index.html` and `assets/`).
    pub fn new(dir: &Path) -> Self {
        let index = ServeFile::new(dir.join("index.html"));
        Self {
            assets: ServeDir::new(dir),
            pages: ServeDir::new(dir).fallback(index),
        }
    }

    /// Answers a request no API route matched.
    pub async fn serve(self, request: Request) -> Response {
        let path = request.uri().path();
        if is_api_path(path) || is_source_map(path) {
            return problems::not_found(request).await.into_response();
        }
        let (response, cache) = if path.starts_with("/assets/") {
            let Ok(response) = self.assets.oneshot(request).await;
            (response.map(Body::new), IMMUTABLE)
        } else {
            let Ok(response) = self.pages.oneshot(request).await;
            (response.map(Body::new), REVALIDATE)
        };
        with_cache_control(response, cache)
    }
}

/// Paths that belong to the API even when no route matches them.
fn is_api_path(path: &str) -> bool {
    ["/v1", "/docs"]
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
}

/// Source maps, which the portal never serves: judged on the path as the file server decodes it
/// (`.js%2Emap` names the same file as `.js.map`).
fn is_source_map(path: &str) -> bool {
    percent_decoded(path)
        .to_ascii_lowercase()
        .ends_with(b".map")
}

/// `%XX` escapes decoded to bytes; anything else (including a malformed escape) as it is.
fn percent_decoded(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
}

fn with_cache_control(mut response: Response, value: &'static str) -> Response {
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// Checks that `dir` holds a built portal, for start-up validation.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    if dir.join("index.html").is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} has no index.html (build the portal: cd web-client && npm ci && npm run build)",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{is_api_path, is_source_map};

    #[test]
    fn api_prefixes_match_whole_segments() {
        assert!(is_api_path("/v1"));
        assert!(is_api_path("/v1/nope"));
        assert!(is_api_path("/docs/x"));
        assert!(!is_api_path("/v1x"));
        assert!(!is_api_path("/clusters/v1"));
        assert!(!is_api_path("/"));
    }

    #[test]
    fn source_maps_are_recognised_by_their_extension() {
        assert!(is_source_map("/assets/index-3f9a1c.js.map"));
        assert!(is_source_map("/assets/index-3f9a1c.css.map"));
        assert!(is_source_map("/assets/index-3f9a1c.js%2Emap"));
        assert!(is_source_map("/assets/index-3f9a1c.js.ma%70"));
        assert!(!is_source_map("/assets/index-3f9a1c.js"));
        assert!(!is_source_map("/t/acme/clusters/orders"));
        assert!(!is_source_map("/assets/index.js%2"));
    }
}
