// API additions written by hand, in the shape openapi-typescript generates, until the committed
// openapi/openapi.json describes them: standbys (`standby` in a create request and in a
// cluster's spec, POST .../promote answering an operation with a `warning`).
//
// Each type below switches to the generated one by itself once `npm run gen:api` produces it,
// so regenerating the schema cannot break the build; delete this file (and its uses in
// client.ts) when openapi.json has them.
import type { components, paths } from "./schema";

type Generated = components["schemas"];

/** What a standby follows: another cluster of the tenant, by name. */
export interface StandbySpec {
  source: string;
}

/** `"standby": {"source": "orders"}` in a create request; exclusive with `source` (a clone). */
export type StandbyRequest = StandbySpec;

/** `spec.standby` of a cluster: what it follows, or null when it is a normal (writable) cluster. */
export type ClusterSpecOut = "standby" extends keyof Generated["ClusterSpec"]
  ? Generated["ClusterSpec"]
  : Generated["ClusterSpec"] & { standby?: StandbySpec | null };

export type ClusterOut = "standby" extends keyof Generated["ClusterSpec"]
  ? Generated["ClusterOut"]
  : Omit<Generated["ClusterOut"], "spec"> & { spec: ClusterSpecOut };

export type ClusterRequest = "standby" extends keyof Generated["ClusterRequest"]
  ? Generated["ClusterRequest"]
  : Generated["ClusterRequest"] & { standby?: StandbyRequest | null };

/** An operation; the answer to a promote carries a `warning` for the person who asked. */
export type OperationOut = "warning" extends keyof Generated["OperationOut"]
  ? Generated["OperationOut"]
  : Generated["OperationOut"] & {
      /** Something the person must do now, e.g. stop writes to the standby's old source. */
      warning?: string | null;
    };

type ProblemResponse = {
  headers: { [name: string]: unknown };
  content: { "application/problem+json": Generated["Problem"] };
};

const PROMOTE = "/v1/tenants/{tenant}/clusters/{cluster}/promote";

/** POST .../promote: the standby stops following its source and becomes a writable primary. */
export interface PromotePath {
  [PROMOTE]: {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    get?: never;
    put?: never;
    post: {
      parameters: { query?: never; header?: never; path: { tenant: string; cluster: string }; cookie?: never };
      requestBody: { content: { "application/json": Record<string, never> } };
      responses: {
        202: { headers: { [name: string]: unknown }; content: { "application/json": OperationOut } };
        /** Not a standby, not ready yet, or another operation running. */
        409: ProblemResponse;
        /** The platform cannot run standbys (the local dev platform). */
        501: ProblemResponse;
        404: ProblemResponse;
        403: ProblemResponse;
        401: ProblemResponse;
        422: ProblemResponse;
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}

/** The generated paths plus the hand-written ones the schema does not have yet. */
export type Paths = typeof PROMOTE extends keyof paths ? paths : paths & PromotePath;
