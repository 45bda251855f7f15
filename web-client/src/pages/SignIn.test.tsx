import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { Providers, makeQueryClient } from "../Providers";
import { SignIn } from "./SignIn";
import { fakeApi, json, problem } from "../../test/render";
import { loadSession } from "../auth/session";

function renderSignIn() {
  return render(
    <MemoryRouter initialEntries={["/sign-in"]}>
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
  it("keeps the token in session storage and goes on", async () => {
    fakeApi({ "POST /v1/auth/token": () => json({ access_token: "tok", token_type: "Bearer", expires_in: 900 }) });
    renderSignIn();
    await signIn("correct horse battery staple");
    expect(await screen.findByText("home")).toBeInTheDocument();
    expect(loadSession()?.token).toBe("tok");
  });

  it("says so when the password is wrong", async () => {
    fakeApi({ "POST /v1/auth/token": () => problem(401, "email or password is wrong") });
    renderSignIn();
    await signIn("nope");
    expect(await screen.findByRole("alert")).toHaveTextContent("email or password is wrong");
    expect(loadSession()).toBeNull();
  });
});
