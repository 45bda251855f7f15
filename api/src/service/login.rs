//! Password login: who the email and password belong to, with failures throttled per account
//! and per client address (in the database, so all replicas agree). An unknown email and a
//! wrong password get the same answer after the same amount of work.

use uuid::Uuid;

use crate::app::AppState;
use crate::auth::password;
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, login_throttle};

/// The user `email` and `password` sign in as: 401 when they do not, 429 while throttled.
pub async fn verify(
    state: &AppState,
    email: &str,
    password: &str,
    client: &str,
) -> ApiResult<Uuid> {
    if !state.oidc.password_login {
        return Err(ApiError::forbidden(
            "sign-in with a password is switched off here: sign in through your identity provider (or use an API key)",
        ));
    }
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let keys = [account_key.clone(), format!("client:{client}")];
    if let Some(wait) = login_throttle::blocked_for(&state.db, &keys).await? {
        return Err(ApiError::too_many_requests(
            "too many failed logins; try again later",
            wait.as_secs(),
        ));
    }
    let credentials = if email.len() <= 254 {
        store::users::find_credentials(&state.db, &email).await?
    } else {
        None
    };
    let user_id = match credentials {
        Some((id, hash, disabled)) => password::verify(password, &hash)
            .then_some(id)
            .filter(|_| !disabled),
        None => {
            password::verify_dummy(password);
            None
        }
    };
    let Some(user_id) = user_id else {
        let (max, window) = (
            state.settings.login_max_failures,
            state.settings.login_window,
        );
        for key in &keys {
            login_throttle::record_failure(&state.db, key, max, window).await?;
        }
        return Err(ApiError::unauthorized("invalid email or password"));
    };
    login_throttle::reset(&state.db, &account_key).await?;
    Ok(user_id)
}
