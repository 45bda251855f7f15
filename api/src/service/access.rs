//! Who acts on a tenant, and with which role: what every use case is given by the HTTP layer
//! once it found the tenant and the caller's role in it (`http::principal`).

use uuid::Uuid;

use crate::domain::permissions::{self, Action, Role, TenantRole};
use crate::problem::{ApiError, ApiResult};
use crate::store::tenants::TenantRow;

/// A tenant the caller may act on, with the role they act with.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    pub tenant: TenantRow,
    pub role: Role,
    /// The user acting (recorded as who asked for an operation); `None` for a tenant key.
    pub acting_user: Option<Uuid>,
}

impl TenantAccess {
    /// 403 unless the caller's role allows `action` here.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if permissions::allows(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role in tenant `{}` does not allow this",
                self.tenant.name
            )))
        }
    }

    /// The caller's tenant role (platform admins act as owners).
    pub fn tenant_role(&self) -> TenantRole {
        match self.role {
            Role::PlatformAdmin => TenantRole::Owner,
            Role::Tenant(role) => role,
        }
    }
}
