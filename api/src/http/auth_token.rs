//! `POST /v1/auth/token`: password login returning a short-lived JWT; and
//! `GET /.well-known/jwks.json`: the public keys those tokens are verified with.
//!
//! Failures are counted per account and per client address (in the database, so all replicas
//! agree); past the limit the caller gets 429 with `Retry-After`. An unknown email and a wrong
//! password get the same answer after the same amount of work.

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::client_address::client_address;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::ApiJson;
use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token))
        .routes(routes!(get_jwks))
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
    extensions: Extensions,
    ApiJson(input): ApiJson<TokenIn>,
) -> ApiResult<Json<TokenOut>> {
    let client = client_address(&headers, &extensions, state.settings.trust_forwarded_for);
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

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwksOut {
    /// One Ed25519 public key (`kty: OKP`, `crv: Ed25519`, `x`, `kid`, `alg: EdDSA`) per
    /// configured signing key, the one signing now first; empty with HS256.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// The public keys pgplane's access tokens are signed with, for anything that verifies them
/// (a gateway, another service). A token's `kid` names its key; during a rotation both the new
/// and the old key are listed.
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "auth.jwks", tag = "auth", security(()),
    responses((status = 200, body = JwksOut)))]
async fn get_jwks(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let keys = state.jwt.jwks()["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (
        // Verifiers may cache it a little; a rotation adds the new key well before it signs.
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(JwksOut { keys }),
    )
}
