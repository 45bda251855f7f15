//! Sign-in through identity providers, for the portal: which ways to sign in there are
//! (`GET /v1/auth/providers`), the redirect to a provider (`…/start`) and its answer
//! (`…/callback`), which ends in a portal session cookie as a password sign-in does. A
//! failed sign-in lands on the portal's sign-in page with the reason (`?sso_error=`).

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::session::{over_tls, start as start_session};
use crate::app::AppState;
use crate::auth::session;
use crate::oidc::Provider;
use crate::oidc::login::{self, Pending};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(start_sign_in))
        .routes(routes!(finish_sign_in))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderOut {
    pub name: String,
    pub display_name: String,
    /// Where the portal sends the browser to sign in (append `?return_to=<portal path>`).
    pub sign_in_url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignInOptionsOut {
    /// Whether email + password sign-in is allowed.
    pub password: bool,
    pub providers: Vec<ProviderOut>,
}

/// The ways to sign in: password (unless switched off) and each identity provider.
#[utoipa::path(get, path = "/v1/auth/providers", operation_id = "auth.providers", tag = "auth", security(()),
    responses((status = 200, body = SignInOptionsOut)))]
async fn list_providers(State(state): State<AppState>) -> Json<SignInOptionsOut> {
    Json(SignInOptionsOut {
        password: state.oidc.password_login,
        providers: state
            .oidc
            .providers()
            .iter()
            .map(|p| ProviderOut {
                name: p.config.name.clone(),
                display_name: p
                    .config
                    .display_name
                    .clone()
                    .unwrap_or_else(|| p.config.name.clone()),
                sign_in_url: format!("/v1/auth/oidc/{}/start", p.config.name),
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The portal path to land on afterwards (a path of this site; anything else is `/`).
    pub return_to: Option<String>,
}

#[derive(Deserialize)]
struct ProviderPath {
    provider: String,
}

fn provider<'a>(state: &'a AppState, name: &str) -> ApiResult<&'a std::sync::Arc<Provider>> {
    state
        .oidc
        .by_name(name)
        .ok_or_else(|| ApiError::not_found(format!("identity provider `{name}`")))
}

/// Sends the browser to the provider's sign-in (authorization code with PKCE, state, nonce).
#[utoipa::path(get, path = "/v1/auth/oidc/{provider}/start", operation_id = "auth.oidc.start", tag = "auth", security(()),
    params(("provider" = String, Path), StartQuery),
    responses((status = 303, description = "To the provider's authorization endpoint"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The provider cannot be reached", body = Problem, content_type = "application/problem+json")))]
async fn start_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state, &path.provider)?;
    let metadata = provider.metadata().await.map_err(unreachable_provider)?;
    let pending = Pending::new(
        &provider.config.name,
        query.return_to.as_deref().unwrap_or("/"),
    );
    let redirect_uri = state
        .oidc
        .redirect_uri(&provider.config.name)
        .ok_or_else(|| ApiError::internal("no public URL for the redirect URI"))?;
    let mut url = url::Url::parse(&metadata.authorization_endpoint)
        .map_err(|e| unreachable_provider(crate::oidc::OidcError::Provider(e.to_string())))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &provider.config.scopes.join(" "))
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &pending.challenge())
        .append_pair("code_challenge_method", "S256");
    Ok(redirect(
        url.as_str(),
        Some(pending.cookie(over_tls(&state, &headers))),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the sign-in failed there.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The provider's answer: checks it belongs to this browser's sign-in, exchanges the code,
/// verifies the ID token, and starts a portal session.
#[utoipa::path(get, path = "/v1/auth/oidc/{provider}/callback", operation_id = "auth.oidc.callback", tag = "auth", security(()),
    params(("provider" = String, Path), CallbackQuery),
    responses((status = 303, description = "Signed in: to the portal path asked for, with the session cookie; or to the sign-in page with `sso_error`"),
        (status = 404, description = "No such identity provider", body = Problem, content_type = "application/problem+json")))]
async fn finish_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Response {
    if state.oidc.by_name(&path.provider).is_none() {
        return ApiError::not_found(format!("identity provider `{}`", path.provider))
            .into_response();
    }
    match sign_in(&state, &headers, &path.provider, query).await {
        Ok((user_id, return_to)) => signed_in(&state, &headers, &extensions, user_id, &return_to)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(why) => {
            tracing::warn!(provider = %path.provider, reason = %why, "single sign-on refused");
            let target = format!(
                "/sign-in?sso_error={}",
                form_urlencoded::byte_serialize(why.as_bytes()).collect::<String>()
            );
            let mut response = redirect(&target, None);
            append_cookie(&mut response, login::clear_cookie());
            response
        }
    }
}

/// A portal session for `user_id`, and on to `return_to`.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    user_id: uuid::Uuid,
    return_to: &str,
) -> ApiResult<Response> {
    let client = client(headers, extensions, state);
    let (id, _) = start_session(state, user_id, &client, user_agent(headers)).await?;
    let ttl = state.settings.session_ttl.as_secs() as i64;
    let cookie = session::set_cookie(&id, ttl, over_tls(state, headers));
    let mut response = redirect(return_to, Some(cookie));
    append_cookie(&mut response, login::clear_cookie());
    Ok(response)
}

/// The checks and exchanges of a callback; the user and where to go, or why not.
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    query: CallbackQuery,
) -> Result<(uuid::Uuid, String), String> {
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or("");
        return Err(format!("the identity provider refused: {error} {detail}")
            .trim()
            .to_string());
    }
    let provider = state
        .oidc
        .by_name(name)
        .ok_or_else(|| format!("no identity provider `{name}`"))?;
    let pending = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(Pending::from_cookies)
        .filter(|p| p.provider == name)
        .ok_or(
            "this browser started no sign-in (or it took longer than 10 minutes); start again",
        )?;
    let (Some(code), Some(returned_state)) = (&query.code, &query.state) else {
        return Err("the provider's answer has no code or state".into());
    };
    if !pending.state_matches(returned_state) {
        return Err("the answer belongs to another sign-in (state mismatch); start again".into());
    }
    let claims = exchange(state, provider, code, &pending).await?;
    let user_id = crate::service::sso::user_for(state, provider, &claims, true)
        .await
        .map_err(|e| e.detail_text())?;
    let disabled = crate::store::users::find(&state.db, user_id)
        .await
        .map_err(|e| e.to_string())?
        .is_none_or(|u| u.disabled);
    if disabled {
        return Err("this account is disabled".into());
    }
    Ok((user_id, pending.return_to))
}

/// Trades the code (with the PKCE verifier) for tokens and verifies the ID token's claims.
async fn exchange(
    state: &AppState,
    provider: &Provider,
    code: &str,
    pending: &Pending,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let metadata = provider.metadata().await.map_err(|e| e.to_string())?;
    let redirect_uri = state
        .oidc
        .redirect_uri(name_of(provider))
        .unwrap_or_default();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ];
    let client = (
        provider.config.client_id.as_str(),
        provider.config.client_secret.as_str(),
    );
    let (status, tokens) = provider
        .http()
        .post_form(&metadata.token_endpoint, client, &form)
        .await?;
    if status != 200 {
        let error = tokens["error"].as_str().unwrap_or("no error code");
        return Err(format!("the provider refused the code ({status} {error})"));
    }
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or("the provider's answer has no ID token")?;
    provider
        .verify(id_token, &provider.config.client_id, Some(&pending.nonce))
        .await
        .map_err(|e| format!("the ID token was refused: {e}"))
}

fn client(headers: &HeaderMap, extensions: &Extensions, state: &AppState) -> String {
    super::client_address::client_address(headers, extensions, state.settings.trust_forwarded_for)
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

fn name_of(provider: &Provider) -> &str {
    &provider.config.name
}

fn unreachable_provider(error: crate::oidc::OidcError) -> ApiError {
    tracing::warn!(%error, "identity provider unavailable");
    ApiError::unavailable("the identity provider cannot be reached; try again shortly")
}

fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response();
    if let Some(cookie) = cookie {
        append_cookie(&mut response, cookie);
    }
    response
}

fn append_cookie(response: &mut Response, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
