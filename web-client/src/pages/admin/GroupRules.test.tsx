import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AdminGroupRules } from "./GroupRules";
import { fakeApi, json, renderAt } from "../../../test/render";

const at = { path: "/admin/group-rules", pattern: "/admin/group-rules" };
const providers = { password: true, providers: [{ name: "corp", display_name: "Corp SSO", sign_in_url: "/v1/auth/oidc/corp/start" }] };

describe("the group rules", () => {
  it("lists what each group grants and adds a platform admin rule", async () => {
    const seen = fakeApi({
      "GET /v1/auth/providers": providers,
      "GET /v1/tenants": { items: [] },
      "GET /v1/group-rules": {
        items: [{ id: "r1", provider: "corp", group: "acme-devs", platform_admin: false, tenant: "acme", role: "developer", created_at: "2026-01-01T00:00:00Z" }],
      },
      "POST /v1/group-rules": () => json({ id: "r2", provider: "corp", group: "dbas", platform_admin: true, created_at: "2026-01-01T00:00:00Z" }, 201),
    });
    renderAt(<AdminGroupRules />, at);
    const table = await screen.findByRole("table", { name: "Group rules" });
    expect(await within(table).findByText("developer in acme")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(screen.getByRole("textbox", { name: /^Group/ }), "dbas");
    await user.click(screen.getByRole("checkbox", { name: "Grants platform administrator" }));
    await user.click(screen.getByRole("button", { name: "Add rule" }));
    await waitFor(() => expect(seen.some((r) => r.method === "POST")).toBe(true));
    const posted = seen.find((r) => r.method === "POST")!;
    expect(await posted.json()).toEqual({ provider: "corp", group: "dbas", platform_admin: true });
  });

  it("says so when no provider is configured", async () => {
    fakeApi({ "GET /v1/auth/providers": { password: true, providers: [] }, "GET /v1/group-rules": { items: [] }, "GET /v1/tenants": { items: [] } });
    renderAt(<AdminGroupRules />, at);
    expect(await screen.findByText(/No identity provider is configured/)).toBeInTheDocument();
  });
});
