import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Providers, makeQueryClient } from "../Providers";
import { useAuth } from "./AuthProvider";
import { hasStoredSession, saveSession } from "./session";
import { fakeApi, json, me, problem } from "../../test/render";

/** Shows the session's state and makes authenticated requests on demand. */
function Probe() {
  const { session, endedBecause, signIn, signOut, api } = useAuth();
  return (
    <>
      <output>{session ? "signed in" : `signed out: ${endedBecause ?? "never signed in"}`}</output>
      <button onClick={() => void api.GET("/v1/me")}>Ask</button>
      <button onClick={() => signIn("fresh", 900)}>Sign in</button>
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
  it("ends as expired when the API refuses its token", async () => {
    saveSession("old", 900);
    const seen = fakeApi({ "GET /v1/me": () => problem(401, "token expired") });
    renderProbe();
    expect(screen.getByRole("status")).toHaveTextContent("signed in");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("signed out: expired"));
    expect(seen[0]!.headers.get("Authorization")).toBe("Bearer old");
    expect(hasStoredSession()).toBe(false);
  });

  it("keeps saying signed out when a refusal arrives after the person signed out", async () => {
    saveSession("old", 900);
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

  it("sends the token of the latest sign-in", async () => {
    const seen = fakeApi({ "GET /v1/me": () => json(me("owner")) });
    renderProbe();
    expect(screen.getByRole("status")).toHaveTextContent("signed out: never signed in");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.getByRole("status")).toHaveTextContent("signed in");
    await user.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]!.headers.get("Authorization")).toBe("Bearer fresh");
  });
});
