// Holds the session and the API client for the whole portal. The session is an HttpOnly cookie
// (see auth/session.ts); a 401 while signed in, or the session's expiry, ends it and sends the
// person back to sign-in with a reason. Signing out ends it on the server too.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { createApi, createHooks, type FetchClient, type Hooks } from "../api/client";
import {
  clearSession,
  forgetEnded,
  hasStoredSession,
  lastSessionExpired,
  loadSession,
  msUntilExpiry,
  rememberExpired,
  saveSession,
  type Session,
} from "./session";

export type SignOutReason = "signed_out" | "expired";

interface AuthValue {
  session: Session | null;
  /** Still asking the server whether the browser's cookie holds a session (a new tab). */
  checking: boolean;
  /** Why the last session ended, for the sign-in page to explain. */
  endedBecause: SignOutReason | null;
  /** After `POST /v1/auth/session`: its CSRF token and end (ms since the epoch). */
  signIn: (csrfToken: string, expiresAt: number) => void;
  signOut: (reason?: SignOutReason) => void;
  api: FetchClient;
  $api: Hooks;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [endedBecause, setEndedBecause] = useState<SignOutReason | null>(() => (lastSessionExpired() ? "expired" : null));
  const [checking, setChecking] = useState(() => loadSession() === null);

  // sessionStorage holds the session (signIn saves it, signOut clears it): signOut, which may run
  // twice (two 401s, then the expiry timer), and each request read it there, not from a render.
  const signOut = useCallback(
    (reason: SignOutReason = "signed_out") => {
      if (!hasStoredSession()) return;
      const csrfToken = loadSession()?.csrfToken;
      if (reason === "signed_out" && csrfToken) {
        // Ends the session on the server: the cookie stops working wherever it was copied to.
        void fetch(new Request(`${globalThis.location?.origin ?? ""}/v1/auth/session`, {
          method: "DELETE",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrfToken },
        })).catch(() => {});
      }
      clearSession();
      if (reason === "expired") rememberExpired();
      else forgetEnded();
      setSession(null);
      setEndedBecause(reason);
      // Nothing one person saw may show up for the next one on this tab.
      queryClient.clear();
    },
    [queryClient],
  );

  const signIn = useCallback((csrfToken: string, expiresAt: number) => {
    setSession(saveSession(csrfToken, expiresAt));
    forgetEnded();
    setEndedBecause(null);
  }, []);

  const api = useMemo(
    () =>
      createApi({
        csrfToken: () => loadSession()?.csrfToken ?? null,
        rejected: () => signOut("expired"),
      }),
    [signOut],
  );
  const $api = useMemo(() => createHooks(api), [api]);

  // A new tab (or one whose stored session ended) may still have a live session cookie: ask once.
  useEffect(() => {
    if (!checking) return;
    let cancelled = false;
    api
      .GET("/v1/auth/session")
      .then(({ data }) => {
        if (!cancelled && data) signIn(data.csrf_token, Date.parse(data.expires_at));
      })
      .catch(() => {})
      .finally(() => {
        if (!cancelled) setChecking(false);
      });
    return () => {
      cancelled = true;
    };
  }, [api, checking, signIn]);

  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => signOut("expired"), msUntilExpiry(session));
    return () => clearTimeout(timer);
  }, [session, signOut]);

  const value = useMemo(
    () => ({ session, checking, endedBecause, signIn, signOut, api, $api }),
    [session, checking, endedBecause, signIn, signOut, api, $api],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** The typed query hooks (`$api.useQuery(...)`). */
export function useApi(): Hooks {
  return useAuth().$api;
}
