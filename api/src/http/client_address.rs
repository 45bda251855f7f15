//! The caller's address, as the login throttle counts it and API keys record their last use:
//! the socket peer, or the first `X-Forwarded-For` hop when pgplane is configured to trust a
//! proxy in front (`PGPLANE_TRUST_FORWARDED_FOR`).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

/// The caller's address; `unknown` when the server runs without connect info (tests may).
pub fn client_address(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> String {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()
                .map(|s| s.trim().to_string())
        })
        .flatten()
        .filter(|hop| !hop.is_empty());
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    forwarded.or(peer).unwrap_or_else(|| "unknown".into())
}
