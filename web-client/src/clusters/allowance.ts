// What the server allows on a cluster now: every cluster carries `allowed_actions`, one
// allowance per action with the reason when refused (its state, another operation running,
// the caller's role, what the platform cannot do). The portal shows a refused action disabled
// with that reason instead of repeating the server's rules, so the two cannot disagree.
import type { Schemas } from "../api/client";

export type Allowance = Schemas["Allowance"];
export type ActionName = keyof Schemas["AllowedActions"];

/** Said when the server refuses without a reason (it always gives one; this is a fallback). */
const NO_REASON = "Not possible now";

/** Why `allowance` refuses, or undefined when it allows. */
export function refusalOf(allowance: Allowance): string | undefined {
  return allowance.allowed ? undefined : (allowance.reason ?? NO_REASON);
}

/**
 * One control that carries several actions (an upgrade picker offering minor and major
 * versions): allowed when any of them is, otherwise refused with each distinct reason.
 */
export function anyOf(...allowances: Allowance[]): Allowance {
  if (allowances.some((a) => a.allowed)) return { allowed: true };
  const reasons = [...new Set(allowances.map(refusalOf))];
  return { allowed: false, reason: reasons.join("; ") };
}

/** A control's `disabled` and `title` (its tooltip and accessible description) for an allowance. */
export function controlProps(allowance: Allowance): { disabled: boolean; title: string | undefined } {
  return { disabled: !allowance.allowed, title: refusalOf(allowance) };
}
