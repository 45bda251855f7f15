// What a role may do, mirroring api/src/domain/permissions.rs. The API enforces it; the portal
// uses it only to hide what a role can never do (navigation, a cluster page's controls for a
// viewer). Whether an action on a cluster is possible now comes from its `allowed_actions`.
import type { TenantRole } from "../api/client";

export type Role = TenantRole | "platform_admin";

export type Action =
  | "manage_clusters" // create, update, delete, reveal credentials, cancel operations
  | "manage_members"
  | "manage_owners"
  | "manage_api_keys"
  | "view_audit"
  | "set_quota";

const RANK: Record<TenantRole, number> = { viewer: 0, developer: 1, admin: 2, owner: 3 };

export function can(role: Role | undefined, action: Action): boolean {
  if (!role) return false;
  if (role === "platform_admin") return true;
  const rank = RANK[role];
  switch (action) {
    case "manage_clusters":
      return rank >= RANK.developer;
    case "manage_members":
    case "manage_api_keys":
    case "view_audit":
      return rank >= RANK.admin;
    case "manage_owners":
      return role === "owner";
    case "set_quota":
      return false;
  }
}

export const TENANT_ROLES: TenantRole[] = ["owner", "admin", "developer", "viewer"];
