//! Tenants: the spaces clusters, members and quotas belong to.

use crate::app::AppState;
use crate::domain::{FieldError, names};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, tenants::TenantRow};

/// Creates tenant `name` with the platform's default quota.
pub async fn create(state: &AppState, name: &str, display_name: &str) -> ApiResult<TenantRow> {
    let mut errors = Vec::new();
    if let Some(why) = names::dns1123_label_error(name) {
        errors.push(FieldError::new("name", why));
    }
    if let Some(why) = names::display_name_error(display_name) {
        errors.push(FieldError::new("display_name", why));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let quota = &state.settings.default_quota;
    store::tenants::create(&state.db, name, display_name.trim(), quota)
        .await
        .map_err(|e| {
            if e.is_constraint("tenants_name_key") {
                ApiError::conflict(format!("a tenant named `{name}` already exists"))
            } else {
                e.into()
            }
        })
}
