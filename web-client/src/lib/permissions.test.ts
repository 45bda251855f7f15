import { describe, expect, it } from "vitest";
import { can, type Action, type Role } from "./permissions";

// The rows of api/src/domain/permissions.rs that decide which controls the portal shows.
const TABLE: [Action, Record<Role, boolean>][] = [
  ["manage_clusters", { platform_admin: true, owner: true, admin: true, developer: true, viewer: false }],
  ["manage_members", { platform_admin: true, owner: true, admin: true, developer: false, viewer: false }],
  ["manage_owners", { platform_admin: true, owner: true, admin: false, developer: false, viewer: false }],
  ["manage_api_keys", { platform_admin: true, owner: true, admin: true, developer: false, viewer: false }],
  ["view_audit", { platform_admin: true, owner: true, admin: true, developer: false, viewer: false }],
  ["set_quota", { platform_admin: true, owner: false, admin: false, developer: false, viewer: false }],
];

describe("permissions", () => {
  it.each(TABLE)("%s follows the server's table", (action, expected) => {
    for (const [role, allowed] of Object.entries(expected)) {
      expect(can(role as Role, action), `${role} ${action}`).toBe(allowed);
    }
  });

  it("allows nothing without a role", () => {
    expect(can(undefined, "manage_clusters")).toBe(false);
  });
});
