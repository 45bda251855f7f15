//! Who signs in through an identity provider: the user linked to the provider's subject, or
//! on a first sign-in a user made for them (or the existing user of their email, when the
//! provider vouches for it: `email_verified`). Every sign-in applies the provider's group
//! rules: platform admin and tenant roles follow the groups.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::password;
use crate::oidc::Provider;
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, identities, users::NewUser};

/// The user a provider's verified claims name; `apply_groups`: bring their grants in line
/// with the groups the claims carry (always at sign-in; at the API only when they changed).
pub async fn user_for(
    state: &AppState,
    provider: &Provider,
    claims: &Map<String, Value>,
    apply_groups: bool,
) -> ApiResult<Uuid> {
    let name = &provider.config.name;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| {
            ApiError::unauthorized("the identity provider's token has no usable subject")
        })?;
    let groups = provider.groups(claims);
    let mut tx = store::begin(&state.db).await?;
    let (user_id, known_groups) = match identities::find(&mut *tx, name, subject).await? {
        Some((user, known)) => (user, Some(known)),
        None => (first_sign_in(&mut tx, claims).await?, None),
    };
    let changed = known_groups.as_deref() != Some(groups.as_slice());
    if apply_groups || changed {
        identities::record(&mut *tx, name, subject, user_id, &groups).await?;
        let (admin, roles) = identities::grants(&mut *tx, name, &groups).await?;
        identities::apply_grants(&mut tx, user_id, admin, &roles).await?;
    }
    tx.commit().await.map_err(store::StoreError::from)?;
    // The admin flag may have changed: authentication must not serve the old one.
    state.users.forget(user_id);
    Ok(user_id)
}

/// The user of a first sign-in: the existing account of a verified email, or a new one.
async fn first_sign_in(
    tx: &mut sqlx::PgConnection,
    claims: &Map<String, Value>,
) -> ApiResult<Uuid> {
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| crate::domain::names::email_error(e).is_none())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "the identity provider did not give an email address (request the `email` scope)",
            )
        })?;
    let verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
    if let Some(existing) = store::users::find_by_email(&mut *tx, &email).await? {
        // Linking to an account made another way takes the provider's word for the email.
        if !verified {
            return Err(ApiError::unauthorized(
                "an account with this email exists, and the identity provider does not say the email is verified",
            ));
        }
        return Ok(existing.id);
    }
    let display = claims
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&email);
    let display: String = display.chars().take(200).collect();
    // Nobody knows this password: the account signs in through the provider only.
    let unknowable = crate::auth::session::generate_id();
    let hash = password::hash(&unknowable).map_err(|e| ApiError::internal(e.to_string()))?;
    let user = store::users::create(
        &mut *tx,
        &NewUser {
            email: &email,
            name: &display,
            password_hash: &hash,
            is_platform_admin: false,
        },
    )
    .await?;
    Ok(user.id)
}
