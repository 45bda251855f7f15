//! Who is calling, and what they may do to which tenant.
//!
//! [`authenticate`] turns an `Authorization: Bearer` credential (a JWT or a `pgp_` API key), or
//! the portal's session cookie (with its CSRF token on changes), into a [`Principal`] stored in the request (and echoed into the response for the audit layer). Handlers
//! take `Principal` as an extractor (401 when absent) and ask [`tenant_access`] for the tenant,
//! which answers 404 to callers with no role in it, so other tenants' existence never leaks.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::client_address::client_address;
use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth;
use crate::auth::user_cache::CachedUser;
use crate::domain::permissions::{self, Action, Role, TenantRole};
use crate::store::{self, api_keys::ApiKeyRow, tenants::TenantRow};

pub use crate::service::TenantAccess;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person, by password token or by their personal API key.
    User {
        user_id: Uuid,
        email: String,
        is_platform_admin: bool,
        api_key_id: Option<Uuid>,
    },
    /// A tenant service key holding one role in one tenant.
    ServiceKey {
        key_id: Uuid,
        tenant_id: Uuid,
        role: TenantRole,
    },
}

impl Principal {
    pub fn is_platform_admin(&self) -> bool {
        matches!(
            self,
            Principal::User {
                is_platform_admin: true,
                ..
            }
        )
    }

    /// How the audit log names this caller: `(actor_type, actor_id, actor_label)`.
    pub fn audit_actor(&self) -> (&'static str, Option<Uuid>, Option<String>) {
        match self {
            Principal::User { user_id, email, .. } => ("user", Some(*user_id), Some(email.clone())),
            Principal::ServiceKey { key_id, .. } => {
                ("api_key", Some(*key_id), Some(format!("api-key:{key_id}")))
            }
        }
    }

    /// The user behind the call, if it is a person.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Principal::User { user_id, .. } => Some(*user_id),
            Principal::ServiceKey { .. } => None,
        }
    }

    /// 403 unless the caller may perform a platform-wide action (one not about one tenant).
    pub fn require_platform(&self, action: Action) -> ApiResult<()> {
        if self.is_platform_admin() && permissions::allows(Role::PlatformAdmin, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden("this action needs a platform admin"))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::unauthorized(
                "authentication required: send `Authorization: Bearer <token or API key>`",
            )
        })
    }
}

/// Middleware: resolves the bearer credential, if any. A credential that is present but not
/// valid is a 401 at once; an absent one is left to the handler. Operations the spec declares
/// without security (probes, metrics, login) ignore any credential: a stale token sent by a
/// scraper or a login form is not a reason to refuse them.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_public(&state, &request) {
        return next.run(request).await;
    }
    let resolved = match request.headers().get(AUTHORIZATION) {
        Some(header) => {
            let client = client_address(
                request.headers(),
                request.extensions(),
                state.settings.trust_forwarded_for,
            );
            resolve(&state, header.to_str().unwrap_or_default(), &client).await
        }
        None => match auth::session::id_in(request.headers()) {
            Some(id) => {
                let changes = !matches!(
                    *request.method(),
                    Method::GET | Method::HEAD | Method::OPTIONS
                );
                let csrf = changes.then(|| {
                    request
                        .headers()
                        .get(auth::session::CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                });
                resolve_session(&state, &id, csrf.as_deref()).await
            }
            None => return next.run(request).await,
        },
    };
    let principal = match resolved {
        Ok(principal) => principal,
        Err(error) => return error.into_response(),
    };
    request.extensions_mut().insert(principal.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(principal);
    response
}

fn is_public(state: &AppState, request: &Request) -> bool {
    request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| {
            // axum answers HEAD with the GET route.
            let method = match request.method() {
                &Method::HEAD => Method::GET,
                other => other.clone(),
            };
            let key = (method, route.as_str().to_string());
            state.public_operations.contains(&key)
        })
}

async fn resolve(state: &AppState, header: &str, client: &str) -> ApiResult<Principal> {
    let credential = match header.split_once(' ') {
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => value.trim(),
        _ => {
            return Err(ApiError::unauthorized(
                "the Authorization header must be `Bearer <credential>`",
            ));
        }
    };
    if auth::api_key::looks_like_api_key(credential) {
        let hash = auth::api_key::hash(credential);
        let key = store::api_keys::authenticate(&state.db, &hash, client).await?;
        let key = key
            .ok_or_else(|| ApiError::unauthorized("the API key is unknown, revoked or expired"))?;
        return principal_for_key(state, key).await;
    }
    if let Some(issuer) = crate::oidc::unverified_issuer(credential)
        && let Some(provider) = state.oidc.accepting_access_tokens_from(&issuer)
    {
        return provider_access_token(state, provider, credential).await;
    }
    let (user_id, _claims) = state.jwt.verify(credential).map_err(|e| {
        tracing::debug!(error = %e, "token refused");
        ApiError::unauthorized("the access token is invalid or expired")
    })?;
    principal_for_user(state, user_id, None).await
}

/// The user of an access token an identity provider issued for pgplane's API.
async fn provider_access_token(
    state: &AppState,
    provider: &crate::oidc::Provider,
    token: &str,
) -> ApiResult<Principal> {
    let audience = provider.config.audience.as_deref().unwrap_or_default();
    let claims = provider
        .verify(token, audience, None)
        .await
        .map_err(|error| match error {
            crate::oidc::OidcError::Provider(_) => {
                tracing::warn!(%error, "identity provider unavailable");
                ApiError::unavailable(
                    "the identity provider cannot be reached to check the token; retry shortly",
                )
            }
            _ => {
                tracing::debug!(%error, "provider token refused");
                ApiError::unauthorized("the access token is invalid or expired")
            }
        })?;
    let user_id = crate::service::sso::user_for(state, provider, &claims, false).await?;
    principal_for_user(state, user_id, None).await
}

/// The user of a portal session cookie. A request that changes something (`csrf`: what it
/// presented) must also carry the session's CSRF token: the browser sends the cookie with requests other sites make too
/// (`SameSite=Lax` stops most of them; the token stops the rest).
async fn resolve_session(state: &AppState, id: &str, csrf: Option<&str>) -> ApiResult<Principal> {
    let hash = auth::session::hash(id);
    let session = store::sessions::find_live(&state.db, &hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the session ended; sign in again"))?;
    if let Some(presented) = csrf
        && !auth::session::csrf_matches(id, presented)
    {
        return Err(super::session::csrf_refused());
    }
    // Last seen at most once a minute: a page polling every few seconds writes rarely.
    if session.last_seen_at < chrono::Utc::now() - chrono::Duration::minutes(1) {
        store::sessions::touch(&state.db, &hash).await?;
    }
    principal_for_user(state, session.user_id, None).await
}

async fn principal_for_key(state: &AppState, key: ApiKeyRow) -> ApiResult<Principal> {
    match (
        key.user_id,
        key.tenant_id,
        key.role.as_deref().and_then(TenantRole::parse),
    ) {
        (Some(user_id), _, _) => principal_for_user(state, user_id, Some(key.id)).await,
        (None, Some(tenant_id), Some(role)) => Ok(Principal::ServiceKey {
            key_id: key.id,
            tenant_id,
            role,
        }),
        _ => Err(ApiError::internal(format!(
            "API key {} has no owner",
            key.id
        ))),
    }
}

async fn principal_for_user(
    state: &AppState,
    user_id: Uuid,
    api_key_id: Option<Uuid>,
) -> ApiResult<Principal> {
    let user = match state.users.get(user_id) {
        Some(cached) => Some(cached),
        None => {
            let found = store::users::find(&state.db, user_id)
                .await?
                .map(|u| CachedUser {
                    id: u.id,
                    email: u.email,
                    is_platform_admin: u.is_platform_admin,
                    disabled: u.disabled,
                });
            if let Some(user) = &found {
                state.users.insert(user.clone());
            }
            found
        }
    };
    match user {
        Some(user) if !user.disabled => Ok(Principal::User {
            user_id: user.id,
            email: user.email,
            is_platform_admin: user.is_platform_admin,
            api_key_id,
        }),
        _ => Err(ApiError::unauthorized(
            "the account is disabled or no longer exists",
        )),
    }
}

/// The role `principal` holds in `tenant`, if any.
pub async fn role_in(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantRow,
) -> ApiResult<Option<Role>> {
    Ok(match principal {
        _ if principal.is_platform_admin() => Some(Role::PlatformAdmin),
        Principal::User { user_id, .. } => {
            store::memberships::role_of(&state.db, tenant.id, *user_id)
                .await?
                .map(Role::Tenant)
        }
        Principal::ServiceKey {
            tenant_id, role, ..
        } => (*tenant_id == tenant.id).then_some(Role::Tenant(*role)),
    })
}

/// Loads tenant `name` for `principal` and checks `action`: 404 when the tenant does not exist
/// or the caller has no role in it, 403 when the role does not allow the action.
pub async fn tenant_access(
    state: &AppState,
    principal: &Principal,
    name: &str,
    action: Action,
) -> ApiResult<TenantAccess> {
    let access = visible_tenant(state, principal, name).await?;
    access.require(action)?;
    Ok(access)
}

/// Tenant `name` with the caller's role in it, before any action is checked: 404 when it does
/// not exist or the caller has no role in it.
pub async fn visible_tenant(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> ApiResult<TenantAccess> {
    let not_found = || ApiError::not_found(format!("tenant `{name}`"));
    let (tenant, role) = match principal {
        // A member's role comes with the tenant, in one query (the hot path of every read).
        Principal::User {
            user_id,
            is_platform_admin: false,
            ..
        } => {
            let found = store::tenants::find_with_role(&state.db, name, *user_id)
                .await?
                .ok_or_else(not_found)?;
            let role = found.role.as_deref().and_then(TenantRole::parse);
            (found.tenant, role.map(Role::Tenant))
        }
        _ => {
            let tenant = store::tenants::find_by_name(&state.db, name)
                .await?
                .ok_or_else(not_found)?;
            let role = role_in(state, principal, &tenant).await?;
            (tenant, role)
        }
    };
    Ok(TenantAccess {
        tenant,
        role: role.ok_or_else(not_found)?,
        acting_user: principal.user_id(),
    })
}

/// [`tenant_access`] and the tenant's cluster `cluster`, checked in the order every route
/// answers: the tenant (404), the cluster (404), then the action (403). For a member, one
/// query instead of two (the hot path of cluster reads).
pub async fn cluster_access(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    action: Action,
    cluster: &str,
) -> ApiResult<(TenantAccess, store::clusters::ClusterRow)> {
    let cluster_not_found = || ApiError::not_found(format!("cluster `{cluster}`"));
    let (access, row) = if let Principal::User {
        user_id,
        is_platform_admin: false,
        ..
    } = principal
    {
        let tenant_not_found = || ApiError::not_found(format!("tenant `{tenant}`"));
        let (found, row) =
            store::clusters::find_with_member_role(&state.db, tenant, *user_id, cluster)
                .await?
                .ok_or_else(tenant_not_found)?;
        let role = found
            .role
            .as_deref()
            .and_then(TenantRole::parse)
            .ok_or_else(tenant_not_found)?;
        let access = TenantAccess {
            tenant: found.tenant,
            role: Role::Tenant(role),
            acting_user: Some(*user_id),
        };
        (access, row)
    } else {
        let access = visible_tenant(state, principal, tenant).await?;
        let row = store::clusters::find(&state.db, access.tenant.id, cluster).await?;
        (access, row)
    };
    let row = row.ok_or_else(cluster_not_found)?;
    access.require(action)?;
    Ok((access, row))
}
