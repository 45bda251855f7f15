//! People with accounts on the platform (managed by platform admins).

use crate::app::AppState;
use crate::auth::password;
use crate::domain::{FieldError, names};
use crate::problem::{ApiError, ApiResult};
use crate::store::{
    self,
    users::{NewUser, UserChanges, UserRow},
};

/// A new account as asked for.
pub struct NewUserIn<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub is_platform_admin: bool,
}

/// Changes to an account as asked for (absent: unchanged).
pub struct UserEdit<'a> {
    pub name: Option<&'a str>,
    pub password: Option<&'a str>,
    pub is_platform_admin: Option<bool>,
    pub disabled: Option<bool>,
}

pub fn not_found(user: &str) -> ApiError {
    ApiError::not_found(format!("user `{user}`"))
}

/// 422 naming every field that is not acceptable.
fn refuse_invalid(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Creates an account; 409 when its email is taken.
pub async fn create(state: &AppState, new: NewUserIn<'_>) -> ApiResult<UserRow> {
    let email = new.email.trim().to_lowercase();
    let mut errors = Vec::new();
    if let Some(why) = names::email_error(&email) {
        errors.push(FieldError::new("email", why));
    }
    if let Some(why) = names::display_name_error(new.name) {
        errors.push(FieldError::new("name", why));
    }
    if let Err(why) = password::check_strength(new.password) {
        errors.push(FieldError::new("password", why));
    }
    refuse_invalid(errors)?;
    let hash = password::hash(new.password).map_err(ApiError::internal)?;
    let user = NewUser {
        email: &email,
        name: new.name.trim(),
        password_hash: &hash,
        is_platform_admin: new.is_platform_admin,
    };
    store::users::create(&state.db, &user).await.map_err(|e| {
        if e.is_constraint("users_email_key") {
            ApiError::conflict(format!("a user with email `{email}` exists"))
        } else {
            e.into()
        }
    })
}

/// Changes account `user` (id or email) once `precondition` accepts it as it is now (under a
/// lock); the last active platform admin cannot stop being one.
pub async fn update(
    state: &AppState,
    user: &str,
    edit: UserEdit<'_>,
    precondition: impl FnOnce(&UserRow) -> ApiResult<()>,
) -> ApiResult<UserRow> {
    let mut errors = Vec::new();
    if let Some(why) = edit.name.and_then(names::display_name_error) {
        errors.push(FieldError::new("name", why));
    }
    if let Some(Err(why)) = edit.password.map(password::check_strength) {
        errors.push(FieldError::new("password", why));
    }
    refuse_invalid(errors)?;
    let current = store::users::find_by_id_or_email(&state.db, user)
        .await?
        .ok_or_else(|| not_found(user))?;
    let hash = edit
        .password
        .map(password::hash)
        .transpose()
        .map_err(ApiError::internal)?;
    let mut tx = store::begin(&state.db).await?;
    let admins = store::users::lock_active_admins(&mut *tx).await?;
    let current = store::users::find(&mut *tx, current.id)
        .await?
        .ok_or_else(|| not_found(user))?;
    precondition(&current)?;
    let stops_being_admin = current.is_platform_admin
        && !current.disabled
        && (edit.is_platform_admin == Some(false) || edit.disabled == Some(true));
    if stops_being_admin && admins <= 1 {
        return Err(ApiError::conflict("this is the last active platform admin"));
    }
    let changes = UserChanges {
        name: edit.name.map(str::trim),
        password_hash: hash.as_deref(),
        is_platform_admin: edit.is_platform_admin,
        disabled: edit.disabled,
    };
    let row = store::users::update(&mut *tx, current.id, &changes).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    state.users.forget(current.id);
    Ok(row)
}
