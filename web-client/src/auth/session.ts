// The signed-in session: the access token and when it expires, kept in sessionStorage so a
// reload keeps you signed in but closing the tab signs you out (and no other site or tab sees it).

const KEY = "pgplane.session";
/** Sign out a little before the server would refuse the token, so no request fails mid-form. */
const EXPIRY_MARGIN_MS = 5_000;

export interface Session {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export function loadSession(now = Date.now()): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    if (typeof session.token !== "string" || typeof session.expiresAt !== "number") return null;
    return session.expiresAt - EXPIRY_MARGIN_MS > now ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(token: string, expiresInSeconds: number, now = Date.now()): Session {
  const session = { token, expiresAt: now + expiresInSeconds * 1000 };
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
