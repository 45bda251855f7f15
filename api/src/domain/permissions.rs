//! The one permission table. Every authorisation decision in pgplane is `allows(role, action)`;
//! handlers never compare roles themselves.

use serde::{Deserialize, Serialize};

/// A role a tenant member (or tenant service key) holds within one tenant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TenantRole {
    Viewer,
    Developer,
    Admin,
    Owner,
}

impl TenantRole {
    pub const ALL: [TenantRole; 4] = [Self::Owner, Self::Admin, Self::Developer, Self::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Developer => "developer",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who is acting, as far as permissions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Operates the whole platform: every tenant, users, quotas.
    PlatformAdmin,
    Tenant(TenantRole),
}

/// Everything a caller can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // platform-wide
    CreateTenant,
    ManageUsers,
    ViewPlatformAudit,
    // one tenant
    ViewTenant,
    UpdateTenant,
    SuspendTenant,
    DeleteTenant,
    ViewMembers,
    ManageMembers,
    ManageOwners,
    ViewApiKeys,
    ManageApiKeys,
    ViewQuota,
    SetQuota,
    ViewAudit,
    ViewClusters,
    CreateCluster,
    UpdateCluster,
    DeleteCluster,
    RevealCredentials,
    ViewOperations,
    CancelOperation,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Self::CreateTenant,
        Self::ManageUsers,
        Self::ViewPlatformAudit,
        Self::ViewTenant,
        Self::UpdateTenant,
        Self::SuspendTenant,
        Self::DeleteTenant,
        Self::ViewMembers,
        Self::ManageMembers,
        Self::ManageOwners,
        Self::ViewApiKeys,
        Self::ManageApiKeys,
        Self::ViewQuota,
        Self::SetQuota,
        Self::ViewAudit,
        Self::ViewClusters,
        Self::CreateCluster,
        Self::UpdateCluster,
        Self::DeleteCluster,
        Self::RevealCredentials,
        Self::ViewOperations,
        Self::CancelOperation,
    ];
}

/// The permission table: may `role` perform `action`?
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use TenantRole::*;
    let Role::Tenant(role) = role else {
        return true; // the platform admin may do everything
    };
    match action {
        CreateTenant | ManageUsers | ViewPlatformAudit | SuspendTenant | DeleteTenant
        | SetQuota => false,
        ViewTenant | ViewMembers | ViewQuota | ViewClusters | ViewOperations => true,
        ManageOwners => role == Owner,
        UpdateTenant | ManageMembers | ViewApiKeys | ManageApiKeys | ViewAudit => role >= Admin,
        CreateCluster | UpdateCluster | DeleteCluster | RevealCredentials | CancelOperation => {
            role >= Developer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected table: one row per action, columns platform admin, owner, admin, developer, viewer.
    const TABLE: [(Action, [bool; 5]); 22] = {
        use Action::*;
        [
            (CreateTenant, [true, false, false, false, false]),
            (ManageUsers, [true, false, false, false, false]),
            (ViewPlatformAudit, [true, false, false, false, false]),
            (ViewTenant, [true, true, true, true, true]),
            (UpdateTenant, [true, true, true, false, false]),
            (SuspendTenant, [true, false, false, false, false]),
            (DeleteTenant, [true, false, false, false, false]),
            (ViewMembers, [true, true, true, true, true]),
            (ManageMembers, [true, true, true, false, false]),
            (ManageOwners, [true, true, false, false, false]),
            (ViewApiKeys, [true, true, true, false, false]),
            (ManageApiKeys, [true, true, true, false, false]),
            (ViewQuota, [true, true, true, true, true]),
            (SetQuota, [true, false, false, false, false]),
            (ViewAudit, [true, true, true, false, false]),
            (ViewClusters, [true, true, true, true, true]),
            (CreateCluster, [true, true, true, true, false]),
            (UpdateCluster, [true, true, true, true, false]),
            (DeleteCluster, [true, true, true, true, false]),
            (RevealCredentials, [true, true, true, true, false]),
            (ViewOperations, [true, true, true, true, true]),
            (CancelOperation, [true, true, true, true, false]),
        ]
    };

    #[test]
    fn every_role_and_action_matches_the_table() {
        let roles = [
            Role::PlatformAdmin,
            Role::Tenant(TenantRole::Owner),
            Role::Tenant(TenantRole::Admin),
            Role::Tenant(TenantRole::Developer),
            Role::Tenant(TenantRole::Viewer),
        ];
        assert_eq!(TABLE.len(), Action::ALL.len());
        for action in Action::ALL {
            let (_, expected) = TABLE
                .iter()
                .find(|(a, _)| *a == action)
                .expect("action in table");
            for (role, allowed) in roles.iter().zip(expected) {
                assert_eq!(allows(*role, action), *allowed, "{role:?} × {action:?}");
            }
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in TenantRole::ALL {
            assert_eq!(TenantRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(TenantRole::parse("root"), None);
    }
}
