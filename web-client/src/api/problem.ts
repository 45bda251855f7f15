// Problem documents (RFC 9457) as the API sends them, turned into what forms show.
import type { Problem } from "./client";

/** True when `value` looks like a problem document (what openapi-fetch throws on errors). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Problem).status === "number" &&
    typeof (value as Problem).title === "string"
  );
}

/** Field path (`resources.cpu`) → message, for showing each error next to its field. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!isProblem(error)) return {};
  const out: Record<string, string> = {};
  for (const { field, message } of error.errors ?? []) {
    out[field] = out[field] ? `${out[field]}; ${message}` : message;
  }
  return out;
}

/** Field errors whose field is not in `shown`, so a form can list them instead of losing them. */
export function otherFieldErrors(error: unknown, shown: readonly string[]): string[] {
  return Object.entries(fieldErrors(error))
    .filter(([field]) => !shown.includes(field))
    .map(([field, message]) => `${field}: ${message}`);
}

/** One sentence for a person: the problem's detail, or why the request did not get through. */
export function describeError(error: unknown): string {
  if (isProblem(error)) return error.detail || error.title;
  if (error instanceof TypeError) return "The server could not be reached. Check your connection and try again.";
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
