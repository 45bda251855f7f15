//! `POST /v1/auth/token`: password login returning a short-lived JWT.
//!
//! Failures are counted per account and per client address (in the database, so all replicas
//! agree); past the limit the caller gets 429 with `Retry-After`. An unknown email and a wrong
//! password get the same answer after the same amount of work.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Problem};
use super::extract::ApiJson;
use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Exchange an email and password for an access token.
#[utoipa::path(post, path = "/v1/auth/token", operation_id = "auth.token", tag = "auth", security(()),
    request_body = TokenIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(peer): ClientAddr,
    ApiJson(input): ApiJson<TokenIn>,
) -> ApiResult<Json<TokenOut>> {
    let client = client_address(&headers, peer, state.settings.trust_forwarded_for);
    let user_id =
        crate::service::login::verify(&state, &input.email, &input.password, &client).await?;
    let token = state
        .jwt
        .sign(&state.jwt.claims_for(user_id))
        .map_err(ApiError::internal)?;
    Ok(Json(TokenOut {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl().as_secs(),
    }))
}

/// The socket peer, when the server was started with connect info (tests may not).
struct ClientAddr(Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The caller's address: the socket peer, or the first `X-Forwarded-For` hop when configured to
/// trust a proxy in front.
fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
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
        .flatten();
    forwarded
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}
