//! `/v1/auth/session`: the portal's sign-in. `POST` checks the password (with the same
//! throttle as `/v1/auth/token`) and answers with a session cookie the page's scripts cannot
//! read, plus the CSRF token they send back on every change; `GET` tells a reloaded page
//! whether it is still signed in (and its CSRF token); `DELETE` signs out, ending the session
//! on the server so the cookie stops working everywhere at once.

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth_token::TokenIn;
use super::client_address::client_address;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::ApiJson;
use crate::app::AppState;
use crate::auth::session;
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_session, get_session, delete_session))
}

/// A signed-in portal session (the session itself is in the `pgplane_session` cookie).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionOut {
    /// Send it as `X-CSRF-Token` with every request that changes something.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether the request reached pgplane over TLS, as far as it can know.
pub fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.session_cookie_secure
        || (state.settings.trust_forwarded_for
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// Sign in to the portal with an email and password: sets the session cookie.
#[utoipa::path(post, path = "/v1/auth/session", operation_id = "auth.session.create", tag = "auth", security(()),
    request_body = TokenIn,
    responses(
        (status = 201, body = SessionOut, headers(("Set-Cookie" = String, description = "The session: `pgplane_session`, HttpOnly, SameSite=Lax, Secure over TLS"))),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    ApiJson(input): ApiJson<TokenIn>,
) -> ApiResult<Response> {
    let client = client_address(&headers, &extensions, state.settings.trust_forwarded_for);
    let user_id =
        crate::service::login::verify(&state, &input.email, &input.password, &client).await?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (id, expires_at) = start(&state, user_id, &client, user_agent).await?;
    let ttl = state.settings.session_ttl;
    let cookie = session::set_cookie(&id, ttl.as_secs() as i64, over_tls(&state, &headers));
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(SessionOut {
            csrf_token: session::csrf_token(&id),
            expires_at,
        }),
    )
        .into_response())
}

/// Records a new session of `user_id`; returns its id and end.
pub async fn start(
    state: &AppState,
    user_id: uuid::Uuid,
    client: &str,
    user_agent: Option<&str>,
) -> ApiResult<(String, DateTime<Utc>)> {
    let id = session::generate_id();
    let expires_at = Utc::now()
        + chrono::Duration::from_std(state.settings.session_ttl)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    let new = store::sessions::NewSession {
        id_hash: &session::hash(&id),
        user_id,
        expires_at,
        client_address: client,
        user_agent,
    };
    store::sessions::create(&state.db, &new).await?;
    // Now and then, forget sessions that ended long ago.
    if rand::random::<u8>() == 0 {
        let _ = store::sessions::delete_ended(&state.db).await;
    }
    Ok((id, expires_at))
}

/// The current portal session, for a page that was reloaded: 401 when signed out.
#[utoipa::path(get, path = "/v1/auth/session", operation_id = "auth.session.get", tag = "auth", security(()),
    responses(
        (status = 200, body = SessionOut),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SessionOut>> {
    let signed_out = || ApiError::unauthorized("not signed in (the session ended or never began)");
    let id = session::id_in(&headers).ok_or_else(signed_out)?;
    let live = store::sessions::find_live(&state.db, &session::hash(&id))
        .await?
        .ok_or_else(signed_out)?;
    Ok(Json(SessionOut {
        csrf_token: session::csrf_token(&id),
        expires_at: live.expires_at,
    }))
}

/// Sign out: ends the session on the server and clears the cookie. Needs the CSRF token.
#[utoipa::path(delete, path = "/v1/auth/session", operation_id = "auth.session.delete", tag = "auth", security(()),
    params(("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token (required with the session cookie; without a session there is nothing to end)")),
    responses(
        (status = 204, description = "Signed out (also when the session had already ended)"),
        (status = 403, description = "Missing or wrong CSRF token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = session::id_in(&headers) {
        let presented = headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session::csrf_matches(&id, presented) {
            return Err(csrf_refused());
        }
        store::sessions::revoke(&state.db, &session::hash(&id)).await?;
    }
    let cookie = session::clear_cookie(over_tls(&state, &headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The answer to a cookie-authenticated change without the session's CSRF token.
pub fn csrf_refused() -> ApiError {
    ApiError::forbidden(
        "this change came with the session cookie but without its CSRF token (`X-CSRF-Token`): refused, as a request another site made would be",
    )
}
