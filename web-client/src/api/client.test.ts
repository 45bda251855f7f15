import { afterEach, describe, expect, it, vi } from "vitest";
import { createApi } from "./client";

afterEach(() => vi.unstubAllGlobals());

function answering(status: number, body: unknown = {}) {
  const seen: Request[] = [];
  const fetch = vi.fn((request: Request) => {
    seen.push(request);
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, seen };
}

describe("the API client", () => {
  it("sends the session cookie, never a bearer token, and the CSRF token with changes only", async () => {
    const { fetch, seen } = answering(200, { kind: "user", tenants: [] });
    const api = createApi({ csrfToken: () => "csrf", rejected: vi.fn() }, { fetch });
    const { data } = await api.GET("/v1/me");
    expect(data?.kind).toBe("user");
    expect(seen[0]!.credentials).toBe("same-origin");
    expect(seen[0]!.headers.has("Authorization")).toBe(false);
    expect(seen[0]!.headers.has("X-CSRF-Token")).toBe(false);
    await api.POST("/v1/tenants", { body: { name: "acme" } });
    expect(seen[1]!.headers.get("X-CSRF-Token")).toBe("csrf");
  });

  it("ends the session when the API refuses the token", async () => {
    const rejected = vi.fn();
    const { fetch } = answering(401, { status: 401, title: "Unauthorized", detail: "expired", type: "x" });
    const api = createApi({ csrfToken: () => "csrf", rejected }, { fetch });
    const { error } = await api.GET("/v1/me");
    expect(error?.status).toBe(401);
    expect(rejected).toHaveBeenCalledOnce();
  });

  it("does not treat a wrong password as an ended session", async () => {
    const rejected = vi.fn();
    const { fetch, seen } = answering(401, { status: 401, title: "Unauthorized", detail: "wrong", type: "x" });
    const api = createApi({ csrfToken: () => null, rejected }, { fetch });
    await api.POST("/v1/auth/session", { body: { email: "a@b.c", password: "nope" } });
    expect(seen[0]!.headers.has("X-CSRF-Token")).toBe(false);
    expect(rejected).not.toHaveBeenCalled();
  });

  it("returns problem documents as typed errors with their field errors", async () => {
    const problem = { status: 422, title: "Invalid request", detail: "`name` bad", type: "x", errors: [{ field: "name", message: "bad" }] };
    const { fetch } = answering(422, problem);
    const api = createApi({ csrfToken: () => "csrf", rejected: vi.fn() }, { fetch });
    const { error } = await api.POST("/v1/tenants/{tenant}/clusters", { params: { path: { tenant: "acme" } }, body: { name: "Bad" } });
    expect(error?.errors).toEqual([{ field: "name", message: "bad" }]);
  });
});
