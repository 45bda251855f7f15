import { describe, expect, it } from "vitest";
import { clearSession, hasStoredSession, loadSession, msUntilExpiry, saveSession } from "./session";

describe("the session", () => {
  it("survives a reload until it expires", () => {
    const now = 1_000_000;
    saveSession("csrf", now + 900_000);
    expect(loadSession(now + 60_000)?.csrfToken).toBe("csrf");
    expect(loadSession(now + 900_000)).toBeNull();
    // Expired, but still there for sign-out to clear.
    expect(hasStoredSession()).toBe(true);
  });

  it("ends a little before the server would end it", () => {
    const session = saveSession("csrf", 60_000);
    expect(msUntilExpiry(session, 0)).toBe(55_000);
    expect(msUntilExpiry(session, 70_000)).toBe(0);
  });

  it("is gone after sign-out and ignores garbage", () => {
    saveSession("csrf", Date.now() + 900_000);
    clearSession();
    expect(loadSession()).toBeNull();
    expect(hasStoredSession()).toBe(false);
    sessionStorage.setItem("pgplane.session", "{not json");
    expect(loadSession()).toBeNull();
    // A session from before cookies (a bearer token) is not one any more.
    sessionStorage.setItem("pgplane.session", JSON.stringify({ token: "tok", expiresAt: Date.now() + 900_000 }));
    expect(loadSession()).toBeNull();
  });
});
