import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { Providers, makeQueryClient } from "../Providers";
import { SignIn } from "./SignIn";
import { fakeApi, json, problem } from "../../test/render";
import { loadSession } from "../auth/session";

function renderSignIn(at = "/sign-in") {
  return render(
    <MemoryRouter initialEntries={[at]}>
      <Providers queryClient={makeQueryClient()}>
        <Routes>
          <Route path="/sign-in" element={<SignIn />} />
          <Route path="/" element={<div>home</div>} />
        </Routes>
      </Providers>
    </MemoryRouter>,
  );
}

async function signIn(password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByRole("textbox", { name: /^Email/ }), "dev@acme.com");
  await user.type(screen.getByLabelText(/^Password/, { selector: "input" }), password);
  await user.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("sign-in", () => {
  it("starts a cookie session, keeps only its CSRF token, and goes on", async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const seen = fakeApi({ "POST /v1/auth/session": () => json({ csrf_token: "csrf", expires_at: expires }, 201) });
    renderSignIn();
    await signIn("correct horse battery staple");
    expect(await screen.findByText("home")).toBeInTheDocument();
    expect(loadSession()).toEqual({ csrfToken: "csrf", expiresAt: Date.parse(expires) });
    expect(seen[0]!.credentials).toBe("same-origin");
    expect(JSON.stringify(sessionStorage)).not.toContain("correct horse");
  });

  it("says so when the password is wrong", async () => {
    fakeApi({ "POST /v1/auth/session": () => problem(401, "email or password is wrong") });
    renderSignIn();
    await signIn("nope");
    expect(await screen.findByRole("alert")).toHaveTextContent("email or password is wrong");
    expect(loadSession()).toBeNull();
  });

  it("offers the identity providers, and only them when passwords are off", async () => {
    fakeApi({
      "GET /v1/auth/providers": {
        password: false,
        providers: [{ name: "corp", display_name: "Corp SSO", sign_in_url: "/v1/auth/oidc/corp/start" }],
      },
    });
    renderSignIn();
    const link = await screen.findByRole("link", { name: "Sign in with Corp SSO" });
    expect(link).toHaveAttribute("href", "/v1/auth/oidc/corp/start?return_to=%2F");
    expect(screen.queryByLabelText(/^Password/, { selector: "input" })).not.toBeInTheDocument();
  });

  it("says why a sign-in through the provider failed", async () => {
    fakeApi({});
    renderSignIn("/sign-in?sso_error=this%20account%20is%20disabled");
    expect(await screen.findByRole("alert")).toHaveTextContent("this account is disabled");
  });
});
