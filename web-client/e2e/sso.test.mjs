// End-to-end single sign-on: the portal in headless Chromium, a real pgplane (e2e-server) and a
// real OpenID provider (e2e/oidc: npm oidc-provider). A person opens a tenant's page, is sent to
// the provider's login page, signs in there, and lands back on that page with the role a group
// rule gives their group.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";
import { startProvider } from "./oidc/provider.mjs";

const SECRET = "e2e-client-secret";
let provider;
let server;
let browser;
let dir;

/** A port nothing listens on now: pgplane's, known before it starts (the redirect URI). */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  provider = await startProvider({
    clients: [{ client_id: "pgplane", client_secret: SECRET, redirect_uris: [`${base}/v1/auth/oidc/corp/callback`] }],
    users: [{ sub: "carol", email: "carol@acme.example.com", name: "Carol", password: "correct horse", groups: ["acme-devs"] }],
  });
  dir = mkdtempSync(join(tmpdir(), "pgplane-e2e-sso-"));
  writeFileSync(join(dir, "secret"), SECRET);
  const providers = [
    {
      name: "corp",
      display_name: "Corp SSO",
      issuer: provider.issuer,
      client_id: "pgplane",
      client_secret_file: join(dir, "secret"),
      scopes: ["openid", "email", "profile", "groups"],
    },
  ];
  writeFileSync(join(dir, "providers.json"), JSON.stringify(providers));
  server = await startServer({
    serveArgs: ["--listen", `127.0.0.1:${port}`, "--public-url", base, "--oidc-providers-file", join(dir, "providers.json")],
  });
  const rule = await fetch(`${server.url}/v1/group-rules`, {
    method: "POST",
    headers: { Authorization: `Bearer ${server.admin_key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ provider: "corp", group: "acme-devs", tenant: "acme", role: "developer" }),
  });
  assert.equal(rule.status, 201, await rule.text());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("single sign-on", { concurrency: false }, () => {
  it("takes a person through the provider's sign-in to the page they opened, with their group's role", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${server.url}/t/acme/clusters`);
    await page.waitForURL(/\/sign-in/);
    await page.getByRole("link", { name: "Sign in with Corp SSO" }).click();
    // The provider's own page, on its own origin.
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.getByLabel("Email").fill("carol@acme.example.com");
    await page.getByLabel("Password").fill("correct horse");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/t/acme/clusters`);
    await page.getByRole("heading", { name: "Clusters" }).waitFor();
    const me = await page.evaluate(() => fetch("/v1/me").then((r) => r.json()));
    assert.equal(me.user.email, "carol@acme.example.com");
    assert.deepEqual(
      me.tenants.map((t) => [t.tenant, t.role]),
      [["acme", "developer"]],
    );
    // A developer may create clusters.
    await page.getByRole("link", { name: "New cluster" }).waitFor();
    await page.close();
  });

  it("shows why the provider's answer was refused", async () => {
    const page = await browser.context.newPage();
    await browser.context.clearCookies();
    // An answer this browser never asked for (no sign-in cookie): refused, and said so.
    await page.goto(`${server.url}/v1/auth/oidc/corp/callback?code=stolen&state=forged`);
    await page.waitForURL(/\/sign-in\?sso_error=/);
    await page.getByRole("alert").filter({ hasText: /started no sign-in/ }).waitFor();
    await page.close();
  });
});
