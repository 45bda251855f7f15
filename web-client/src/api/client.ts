// The typed API client. Paths, parameters and bodies come from `schema.d.ts`, which
// `npm run gen:api` generates from the committed openapi/openapi.json: when the API changes,
// `tsc` fails here rather than the portal failing in front of a person.
import createFetchClient, { type Middleware } from "openapi-fetch";
import createQueryClient from "openapi-react-query";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Cluster = Schemas["ClusterOut"];
export type ClusterRequest = Schemas["ClusterRequest"];
export type Operation = Schemas["OperationOut"];
export type Problem = Schemas["Problem"];
export type Quota = Schemas["QuotaOut"];
export type Me = Schemas["MeOut"];
/** The allow-listed extension names the `{extension}` path parameter takes. */
export type ExtensionName =
  paths["/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}"]["put"]["parameters"]["path"]["extension"];
export type TenantRole = Schemas["TenantRole"];

/** What the client needs from the session: its CSRF token and a way to end an invalid one. */
export interface Credentials {
  /** The session's CSRF token; `null` when signed out. */
  csrfToken(): string | null;
  /** Called when the API refuses the session (ended, expired or revoked). */
  rejected(): void;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A fetch client for the portal. The session is the HttpOnly cookie the browser sends by itself
 * (same origin); every change also carries the session's CSRF token. A 401 while signed in ends
 * the session.
 */
export function createApi(credentials: Credentials, options: { baseUrl?: string; fetch?: typeof fetch } = {}) {
  const auth: Middleware = {
    onRequest({ request }) {
      const csrf = credentials.csrfToken();
      if (csrf && !SAFE_METHODS.has(request.method)) request.headers.set("X-CSRF-Token", csrf);
      return request;
    },
    onResponse({ response }) {
      // Signed out, a 401 is only a wrong password at sign-in, not the end of a session.
      if (response.status === 401 && credentials.csrfToken() !== null) credentials.rejected();
      return response;
    },
  };
  const client = createFetchClient<paths>({
    // Same origin as the portal (absolute, so it also works outside a browser page).
    baseUrl: options.baseUrl ?? globalThis.location?.origin ?? "",
    // Looked up at call time so tests (and the e2e run) can swap the global fetch.
    fetch: options.fetch ?? ((input: Request) => globalThis.fetch(input)),
    // The session cookie goes with same-origin requests only.
    credentials: "same-origin",
  });
  client.use(auth);
  return client;
}

export type FetchClient = ReturnType<typeof createApi>;

/** React Query hooks over the same client (`$api.useQuery("get", "/v1/me")`). */
export function createHooks(client: FetchClient) {
  return createQueryClient(client);
}

export type Hooks = ReturnType<typeof createHooks>;

/** Headers for a JSON merge patch (RFC 7396), which cluster updates require. */
export const MERGE_PATCH = { "Content-Type": "application/merge-patch+json" } as const;
