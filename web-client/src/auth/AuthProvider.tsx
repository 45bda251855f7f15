// Holds the session and the API client for the whole portal. A 401 on an authenticated request
// or the token's expiry ends the session and sends the person back to sign-in with a reason.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { createApi, createHooks, type FetchClient, type Hooks } from "../api/client";
import { clearSession, hasStoredSession, loadSession, msUntilExpiry, saveSession, type Session } from "./session";

export type SignOutReason = "signed_out" | "expired";

interface AuthValue {
  session: Session | null;
  /** Why the last session ended, for the sign-in page to explain. */
  endedBecause: SignOutReason | null;
  signIn: (token: string, expiresIn: number) => void;
  signOut: (reason?: SignOutReason) => void;
  api: FetchClient;
  $api: Hooks;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [endedBecause, setEndedBecause] = useState<SignOutReason | null>(null);

  // sessionStorage holds the session (signIn saves it, signOut clears it): signOut, which may run
  // twice (two 401s, then the expiry timer), and each request read it there, not from a render.
  const signOut = useCallback(
    (reason: SignOutReason = "signed_out") => {
      if (!hasStoredSession()) return;
      clearSession();
      setSession(null);
      setEndedBecause(reason);
      // Nothing one person saw may show up for the next one on this tab.
      queryClient.clear();
    },
    [queryClient],
  );

  const signIn = useCallback((token: string, expiresIn: number) => {
    setSession(saveSession(token, expiresIn));
    setEndedBecause(null);
  }, []);

  const api = useMemo(
    () =>
      createApi({
        token: () => loadSession()?.token ?? null,
        rejected: () => signOut("expired"),
      }),
    [signOut],
  );
  const $api = useMemo(() => createHooks(api), [api]);

  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => signOut("expired"), msUntilExpiry(session));
    return () => clearTimeout(timer);
  }, [session, signOut]);

  const value = useMemo(
    () => ({ session, endedBecause, signIn, signOut, api, $api }),
    [session, endedBecause, signIn, signOut, api, $api],
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
