import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Providers, makeQueryClient } from "../Providers";
import { useAuth } from "./AuthProvider";
import { hasStoredSession, saveSession } from "./session";
import { fakeApi, json, problem } from "../../test/render";

/** Shows the session's state and makes authenticated requests on demand. */
function Probe() {
  const { session, endedBecause, signIn, signOut, api } = useAuth();
  return (
    <>
      <output>{session ? "signed in" : `signed out: ${endedBecause ?? "never signed in"}`}</output>
      <button onClick={() => void api.GET("/v1/me")}>Ask</button>
      <button onClick={() => void api.POST("/v1/tenants", { body: { name: "acme" } })}>Create</button>
      <button onClick={() => signIn("fresh", Date.now() + 900_000)}>Sign in</button>
      <button onClick={() => signOut()}>Sign out</button>
    </>
  );
}

function renderProbe() {
  render(
    <Providers queryClient={makeQueryClient()}>
      <Probe />
    </Providers>,
  );
}

describe("the session in the portal", () => {
  it("ends as expired when the API refuses the session", async () => {
    saveSession("old", Date.now() + 900_000);
    const seen = fakeApi({ "GET /v1/me": () => problem(401, "token expired") });
    renderProbe();
    expect(screen.getByRole("status")).toHaveTextContent("signed in");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("signed out: expired"));
    expect(seen[0]!.credentials).toBe("same-origin");
    expect(hasStoredSession()).toBe(false);
  });

  it("still says the session expired after the tab is reloaded", async () => {
    saveSession("old", Date.now() + 900_000);
    fakeApi({ "GET /v1/me": () => problem(401, "session ended") });
    const first = render(
      <Providers queryClient={makeQueryClient()}>
        <Probe />
      </Providers>,
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("signed out: expired"));
    first.unmount();
    // A reload: a new provider, nothing in memory.
    renderProbe();
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("signed out: expired"));
  });

  it("finds the session of a new tab through its cookie", async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const seen = fakeApi({ "GET /v1/auth/session": () => json({ csrf_token: "from-cookie", expires_at: expires }) });
    renderProbe();
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("signed in"));
    expect(seen[0]!.credentials).toBe("same-origin");
  });

  it("ends the session on the server when the person signs out", async () => {
    saveSession("csrf-1", Date.now() + 900_000);
    const seen = fakeApi({ "DELETE /v1/auth/session": () => new Response(null, { status: 204 }) });
    renderProbe();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]!.method).toBe("DELETE");
    expect(seen[0]!.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(screen.getByRole("status")).toHaveTextContent("signed out: signed_out");
  });

  it("keeps saying signed out when a refusal arrives after the person signed out", async () => {
    saveSession("old", Date.now() + 900_000);
    let answer: (response: Response) => void = () => {};
    const seen = fakeApi({ "GET /v1/me": () => new Promise<Response>((resolve) => (answer = resolve)) });
    renderProbe();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(seen).toHaveLength(1));
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    expect(screen.getByRole("status")).toHaveTextContent("signed out: signed_out");
    answer(problem(401, "token revoked"));
    // The refused request carried the old token, but that session is already over.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen.getByRole("status")).toHaveTextContent("signed out: signed_out");
  });

  it("sends the CSRF token of the latest sign-in with changes", async () => {
    const seen = fakeApi({ "POST /v1/tenants": () => json({}, 201) });
    renderProbe();
    expect(screen.getByRole("status")).toHaveTextContent("signed out: never signed in");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.getByRole("status")).toHaveTextContent("signed in");
    await user.click(screen.getByRole("button", { name: "Create" }));
    const posted = () => seen.filter((r) => r.method === "POST");
    await waitFor(() => expect(posted()).toHaveLength(1));
    expect(posted()[0]!.headers.get("X-CSRF-Token")).toBe("fresh");
  });
});
