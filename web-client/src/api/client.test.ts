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
  it("sends the session's token as a bearer credential", async () => {
    const { fetch, seen } = answering(200, { kind: "user", tenants: [] });
    const api = createApi({ token: () => "tok", rejected: vi.fn() }, { fetch });
    const { data } = await api.GET("/v1/me");
    expect(data?.kind).toBe("user");
    expect(seen[0]!.headers.get("Authorization")).toBe("Bearer tok");
  });

  it("ends the session when the API refuses the token", async () => {
    const rejected = vi.fn();
    const { fetch } = answering(401, { status: 401, title: "Unauthorized", detail: "expired", type: "x" });
    const api = createApi({ token: () => "old", rejected }, { fetch });
    const { error } = await api.GET("/v1/me");
    expect(error?.status).toBe(401);
    expect(rejected).toHaveBeenCalledOnce();
  });

  it("does not treat a wrong password as an ended session", async () => {
    const rejected = vi.fn();
    const { fetch, seen } = answering(401, { status: 401, title: "Unauthorized", detail: "wrong", type: "x" });
    const api = createApi({ token: () => null, rejected }, { fetch });
    await api.POST("/v1/auth/token", { body: { email: "a@b.c", password: "nope" } });
    expect(seen[0]!.headers.has("Authorization")).toBe(false);
    expect(rejected).not.toHaveBeenCalled();
  });

  it("returns problem documents as typed errors with their field errors", async () => {
    const problem = { status: 422, title: "Invalid request", detail: "`name` bad", type: "x", errors: [{ field: "name", message: "bad" }] };
    const { fetch } = answering(422, problem);
    const api = createApi({ token: () => "tok", rejected: vi.fn() }, { fetch });
    const { error } = await api.POST("/v1/tenants/{tenant}/clusters", { params: { path: { tenant: "acme" } }, body: { name: "Bad" } });
    expect(error?.errors).toEqual([{ field: "name", message: "bad" }]);
  });
});
