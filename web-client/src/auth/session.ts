// The signed-in session as the page knows it. The session itself is an HttpOnly cookie that no
// script can read; what is kept here is only the session's CSRF token (sent back with every
// change, useless without the cookie) and when it ends. sessionStorage keeps them across a
// reload of this tab, and no other site or tab sees them.

const KEY = "pgplane.session";
/** Sign out a little before the server would end the session, so no request fails mid-form. */
const EXPIRY_MARGIN_MS = 5_000;

export interface Session {
  csrfToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export function loadSession(now = Date.now()): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    if (typeof session.csrfToken !== "string" || typeof session.expiresAt !== "number") return null;
    return session.expiresAt - EXPIRY_MARGIN_MS > now ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(csrfToken: string, expiresAt: number): Session {
  const session = { csrfToken, expiresAt };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

/** Whether a session is stored at all, expired or not (one that expired still has to be ended). */
export function hasStoredSession(): boolean {
  return sessionStorage.getItem(KEY) !== null;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

/** Milliseconds until the session should end (never negative). */
export function msUntilExpiry(session: Session, now = Date.now()): number {
  return Math.max(0, session.expiresAt - EXPIRY_MARGIN_MS - now);
}

const ENDED_KEY = "pgplane.session-ended";

/**
 * Remembers that the session expired (or was ended elsewhere), so the sign-in page can say so
 * even after a reload of the tab: a request of the old page may have ended it just before.
 */
export function rememberExpired() {
  sessionStorage.setItem(ENDED_KEY, "expired");
}

/** Whether the last session of this tab expired, and nobody signed in since. */
export function lastSessionExpired(): boolean {
  return sessionStorage.getItem(ENDED_KEY) === "expired";
}

export function forgetEnded() {
  sessionStorage.removeItem(ENDED_KEY);
}
