// Renders a screen the way the portal does (providers, router, a signed-in session) against a
// fake API: `routes` maps "METHOD /path" to a JSON answer or a function building a Response.
import { render } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";
import type { ReactElement } from "react";
import { Providers, makeQueryClient } from "../src/Providers";
import { saveSession } from "../src/auth/session";

type Responder = (request: Request) => Response | Promise<Response>;
/** A JSON body to answer with, or a function building the Response. */
export type Answer = Responder | object | string | number | boolean | null;

// `typeof` alone narrows `object` to Function, not to Responder.
const isResponder = (answer: Answer): answer is Responder => typeof answer === "function";

export function json(body: unknown, status = 200, contentType = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": contentType } });
}

export function problem(status: number, detail: string, errors: { field: string; message: string }[] = []) {
  return json(
    { type: "https://pgplane.dev/problems/validation", title: status === 422 ? "Invalid request" : "Error", status, detail, errors },
    status,
    "application/problem+json",
  );
}

/** Installs a fake fetch; returns the requests it saw. Unknown routes answer 404 problems. */
export function fakeApi(routes: Record<string, Answer>) {
  const seen: Request[] = [];
  vi.stubGlobal("fetch", (input: Request): Promise<Response> => {
    seen.push(input.clone());
    const url = new URL(input.url);
    const key = `${input.method} ${url.pathname}`;
    const answer = routes[`${key}${url.search}`] ?? routes[key];
    if (answer === undefined) return Promise.resolve(problem(404, `no fake for ${key}`));
    return Promise.resolve(isResponder(answer) ? answer(input) : json(answer));
  });
  return seen;
}

export function me(role: string | null, admin = false) {
  return {
    kind: "user",
    user: { id: "u1", email: "me@example.com", name: "Me", is_platform_admin: admin, disabled: false, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" },
    tenants: role ? [{ tenant: "acme", tenant_id: "t1", role }] : [],
  };
}

/** Renders `element` at `path` (matched by `pattern`) with a signed-in session. */
export function renderAt(element: ReactElement, { path, pattern }: { path: string; pattern: string }) {
  saveSession("test-csrf", Date.now() + 900_000);
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Providers queryClient={makeQueryClient()}>
        <Routes>
          <Route path={pattern} element={element} />
          <Route path="*" element={<div>elsewhere</div>} />
        </Routes>
      </Providers>
    </MemoryRouter>,
  );
}
