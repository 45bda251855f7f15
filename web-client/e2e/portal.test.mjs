// End-to-end: the built portal in headless Chromium against a real pgplane (e2e-server: the
// HTTP API, PostgreSQL, job workers and status sync over the simulated PGO operator).
// Screenshots of the main screens go to e2e/screenshots/ for a person to look at.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { launchBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";

const axeScript = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const shots = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
mkdirSync(shots, { recursive: true });
const LAPTOP = { width: 1366, height: 900 };
const TABLET = { width: 820, height: 1180 };
/** Operations on the simulated operator take a couple of seconds; allow for a slow CI. */
const ROLLOUT_MS = 45_000;

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage(viewport = LAPTOP) {
  // One browser profile for every test: each starts signed out (the session is a cookie).
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  // Mantine honours it (respectReducedMotion): no half-faded modal in a screenshot.
  await page.emulateMedia({ reducedMotion: "reduce" });
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.errors = errors;
  return page;
}

async function signIn(page, who) {
  await page.goto(`${server.url}/sign-in`);
  await page.getByRole("textbox", { name: /^Email/ }).fill(who.email);
  await page.getByRole("textbox", { name: /^Password/ }).fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
}

async function signOut(page) {
  await page.getByRole("button", { name: /Account menu/ }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.waitForURL(/\/sign-in/);
  await page.close();
}

async function shot(page, name, fullPage = true) {
  // A full-page shot of a scrolled page draws the fixed header mid-page.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage, animations: "disabled" });
}

/** WCAG 2 A/AA problems axe-core finds on the page, as readable lines. */
async function accessibilityViolations(page) {
  await page.addScriptTag({ path: axeScript });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
}

describe("the portal", { concurrency: false }, () => {
  it("serves the sign-in page at any client-side route", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/t/acme/clusters`);
    await page.waitForURL(/\/sign-in/);
    await page.getByRole("heading", { name: "Sign in to pgplane" }).waitFor();
    await shot(page, "01-sign-in", false);
    await page.getByRole("textbox", { name: /^Email/ }).fill(server.owner.email);
    await page.getByRole("textbox", { name: /^Password/ }).fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: /Could not sign in/ }).waitFor();
    await page.close();
  });

  it("takes an owner through create, ready, reveal, scale and delete", async () => {
    const page = await newPage();
    await signIn(page, server.owner);
    await page.getByRole("heading", { name: "Acme Inc." }).waitFor();
    await page.getByTestId("quota-clusters").getByText("1 of 10").waitFor();
    await shot(page, "02-dashboard");

    await page.getByRole("link", { name: "New cluster" }).click();
    await page.getByRole("textbox", { name: /^Name/ }).fill("orders");
    await page.getByText("Medium", { exact: true }).click();
    await page.getByRole("switch", { name: /High availability/ }).check({ force: true });
    await page.getByTestId("quota-cpu_millis").getByText("2 CPU + 4 CPU of 16 CPU").waitFor();
    await shot(page, "03-create-cluster");
    await page.getByRole("button", { name: "Create cluster" }).click();

    await page.waitForURL(/\/t\/acme\/clusters\/orders$/);
    await page.getByTestId("operation-timeline").waitFor();
    await shot(page, "04-cluster-provisioning");
    await page.locator('h1 [data-phase="ready"]').waitFor({ timeout: ROLLOUT_MS });
    await page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').waitFor({ timeout: ROLLOUT_MS });

    // The connection string is there to copy; the password only after a confirmation.
    const primary = page.getByLabel("Primary (read-write) connection string", { exact: true });
    await primary.waitFor();
    assert.match(await primary.textContent(), /^postgresql:\/\/orders@[^:]+:\d+\/orders\?sslmode=verify-full$/);
    await page.getByRole("button", { name: "Reveal password" }).click();
    await page.getByRole("dialog", { name: "Reveal the password?" }).waitFor();
    await page.getByRole("button", { name: "Reveal", exact: true }).click();
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    assert.ok((await password.textContent()).length >= 8, "a password is shown");
    assert.match(await primary.textContent(), /^postgresql:\/\/orders:[^@]+@/, "the revealed URI carries the password");
    await shot(page, "05-cluster-ready-revealed");

    // Scale out to three instances and watch it roll out.
    await page.getByRole("button", { name: "Scale / resize" }).click();
    const instances = page.getByRole("textbox", { name: /^Instances/ });
    await instances.fill("3");
    await page.getByRole("button", { name: "Apply changes" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.getByText("Update orders").first().waitFor();
    await page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').getByText("Update orders", { exact: true }).waitFor({ timeout: ROLLOUT_MS });
    await page.getByText("3 of 3 ready (HA)").waitFor({ timeout: ROLLOUT_MS });
    await shot(page, "06-cluster-scaled");

    // Add a role with a second database; it appears once its update operation has run.
    await page.getByRole("button", { name: "Add role" }).click();
    const roleDialog = page.getByRole("dialog", { name: "Add a role" });
    await roleDialog.getByRole("textbox", { name: /^Role name/ }).fill("reporting");
    await roleDialog.getByLabel("Databases", { exact: true }).fill("analytics");
    await roleDialog.getByLabel("Databases", { exact: true }).press("Enter");
    await roleDialog.getByRole("button", { name: "Add role" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    const roles = page.getByRole("table", { name: "Roles" });
    await roles.getByRole("row", { name: /reporting/ }).getByText("orders, analytics").waitFor({ timeout: ROLLOUT_MS });
    await page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').waitFor({ timeout: ROLLOUT_MS });
    await shot(page, "06b-cluster-roles");

    // Back up now; the backup shows up with the recoverable window.
    await page.getByRole("button", { name: "Back up now" }).click();
    await page.getByRole("button", { name: "Start backup" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').getByText("Backup orders", { exact: true }).waitFor({ timeout: ROLLOUT_MS });
    await page.getByRole("table", { name: "Backups" }).getByText("manual").first().waitFor({ timeout: ROLLOUT_MS });
    assert.doesNotMatch(await page.getByTestId("last-backup").textContent(), /none yet/);
    assert.match(await page.getByTestId("recoverable-window").textContent(), / – /);
    // The repository (pgbackrest info in the primary) holds that backup, and the window comes from it.
    const repository = page.getByRole("table", { name: "Repository backups" });
    await repository.getByRole("row").nth(1).waitFor({ timeout: ROLLOUT_MS });
    assert.match(await repository.textContent(), /\d{8}-\d{6}F/, "a pgBackRest full backup label");
    assert.match(await repository.textContent(), /\d(\.\d+)? (B|KiB|MiB|GiB)/, "sizes for people");
    await page.getByTestId("window-source").getByText("from what the backup repository holds").waitFor({ timeout: ROLLOUT_MS });
    await shot(page, "06b-cluster-backed-up");

    // Extensions: the databases are the cluster's and its roles'; enable pgvector in orders.
    const extensions = page.getByRole("table", { name: "Extensions" });
    await extensions.getByRole("row", { name: /plpgsql/ }).waitFor({ timeout: ROLLOUT_MS });
    assert.equal(await extensions.getByRole("row", { name: /vector/ }).count(), 0, "vector is not installed yet");
    await page.getByRole("combobox", { name: "Database", exact: true }).click();
    await page.getByRole("option", { name: "analytics" }).waitFor();
    await page.getByRole("option", { name: "orders", exact: true }).click();
    await page.getByPlaceholder("Choose one").click();
    await page.getByRole("option", { name: /^vector/ }).click();
    await page.getByTestId("extension-description").getByText(/vector similarity search/).waitFor();
    await page.getByRole("button", { name: "Enable", exact: true }).click();
    await page
      .locator('[data-testid="operation-timeline"][data-state="succeeded"]')
      .getByText("Enable vector in orders of orders", { exact: true })
      .waitFor({ timeout: ROLLOUT_MS });
    const vector = extensions.getByRole("row", { name: /vector/ });
    await vector.waitFor({ timeout: ROLLOUT_MS });
    assert.match(await vector.textContent(), /\d+\.\d+/, "with its version");
    await page.getByRole("button", { name: "Disable extension vector" }).waitFor();
    await page.locator("#extensions-title").scrollIntoViewIfNeeded();
    await shot(page, "06c-cluster-extensions", false);

    // A minor version upgrade needs an image the platform approves; the e2e server approves
    // none, and orders runs the newest major version, so the server's allowed_actions refuse
    // both: the button is off with the server's reasons.
    const upgradeButton = page.getByRole("button", { name: "Upgrade PostgreSQL" });
    assert.equal(await upgradeButton.isDisabled(), true, "no upgrade the server allows");
    assert.match(await upgradeButton.getAttribute("title"), /approves no image/);

    // Clone it from its backups into a new cluster.
    await page.getByRole("link", { name: "Clone" }).click();
    await page.waitForURL(/\/clusters\/new\?clone=orders$/);
    await page.getByTestId("clone-window").getByText(/Recoverable from/).waitFor();
    await page.getByRole("textbox", { name: /^Name/ }).fill("orders-copy");
    await shot(page, "06c-clone-form");
    await page.getByRole("button", { name: "Create cluster" }).click();
    await page.waitForURL(/\/clusters\/orders-copy$/);
    await page.locator('h1 [data-phase="ready"]').waitFor({ timeout: ROLLOUT_MS });

    // A standby of orders: created through the form (it takes orders' version), read-only with
    // a banner naming its source, then promoted through the confirmation into a normal cluster.
    await page.goto(`${server.url}/t/acme/clusters/new`);
    await page.getByRole("textbox", { name: /^Name/ }).fill("orders-dr");
    await page.getByText("A standby of a cluster", { exact: true }).click();
    await page.getByTestId("standby-explanation").waitFor();
    await page.getByRole("combobox", { name: "Cluster to follow" }).click();
    await page.getByRole("option", { name: "orders", exact: true }).click();
    assert.equal(await page.getByRole("combobox", { name: "PostgreSQL version" }).isDisabled(), true, "a standby runs its source's version");
    await page.getByRole("button", { name: "Create cluster" }).click();
    await page.waitForURL(/\/clusters\/orders-dr$/);
    const standbyBanner = page.getByTestId("standby-banner");
    await standbyBanner.waitFor();
    assert.match(await standbyBanner.textContent(), /Standby of orders · read-only/);
    assert.equal(await standbyBanner.getByRole("link", { name: "orders", exact: true }).getAttribute("href"), "/t/acme/clusters/orders");
    await page.locator('h1 [data-phase="ready"]').waitFor({ timeout: ROLLOUT_MS });
    await page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').getByText("Create orders-dr", { exact: true }).waitFor({ timeout: ROLLOUT_MS });
    // What the server refuses a standby is off, with its reason.
    const rotateButton = page.getByRole("button", { name: "Rotate password" });
    assert.equal(await rotateButton.isDisabled(), true, "no password rotation on a standby");
    assert.match(await rotateButton.getAttribute("title"), /is a standby of `orders`/);
    await shot(page, "06d-cluster-standby");
    await standbyBanner.getByRole("button", { name: "Promote…" }).click();
    const promoteDialog = page.getByRole("dialog", { name: "Promote orders-dr?" });
    await promoteDialog.getByText("orders keeps running as a primary").waitFor();
    await shot(page, "06d-promote-confirm", false);
    await promoteDialog.getByRole("button", { name: "Promote to primary" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    // orders still runs as a primary, so the API's answer warns to stop writes to it.
    await page.getByTestId("operation-warning").getByText(/orders/).first().waitFor();
    const promoted = page.locator('[data-testid="operation-timeline"][data-state="succeeded"]').getByText("Promote standby orders-dr", { exact: true });
    const failedPromote = page.locator('[data-testid="operation-timeline"][data-state="failed"]');
    await promoted.or(failedPromote).first().waitFor({ timeout: ROLLOUT_MS });
    if ((await failedPromote.count()) > 0) assert.fail(`the promote failed: ${await failedPromote.getByRole("alert").textContent()}`);
    await standbyBanner.waitFor({ state: "detached", timeout: ROLLOUT_MS });
    await page.locator('h1 [data-phase="ready"]').waitFor({ timeout: ROLLOUT_MS });
    await rotateButton.and(page.locator(":enabled")).waitFor({ timeout: ROLLOUT_MS });
    await shot(page, "06e-cluster-promoted");

    await page.goto(`${server.url}/t/acme/clusters/orders`);
    await page.locator('h1 [data-phase="ready"]').waitFor();

    // The list shows it too, with its live badge.
    await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Clusters" }).click();
    const row = page.getByTestId("cluster-row-orders");
    await row.locator('[data-phase="ready"]').waitFor();
    await shot(page, "07-clusters");

    // Delete with the typed name.
    await row.getByRole("link", { name: "orders" }).click();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const confirm = page.getByRole("button", { name: "Delete cluster" });
    assert.equal(await confirm.isDisabled(), true);
    await page.getByRole("textbox", { name: "Type orders to confirm" }).fill("orders");
    await shot(page, "08-delete-confirm", false);
    await confirm.click();
    // A failed delete says why, rather than only timing out.
    const deleted = page.getByText("orders has been deleted.");
    const failedOp = page.locator('[data-testid="operation-timeline"][data-state="failed"]');
    await deleted.or(failedOp).first().waitFor({ timeout: ROLLOUT_MS });
    if ((await failedOp.count()) > 0) assert.fail(`the delete failed: ${await failedOp.getByRole("alert").textContent()}`);
    assert.deepEqual(page.errors, []);
    await signOut(page);
  });

  it("shows an API field error next to its field", async () => {
    const page = await newPage();
    await signIn(page, server.owner);
    await page.goto(`${server.url}/t/acme/clusters/new`);
    const name = page.getByRole("textbox", { name: /^Name/ });
    await name.fill("Orders_DB");
    await page.getByRole("button", { name: "Create cluster" }).click();
    await page.getByRole("alert").filter({ hasText: "The cluster was not created" }).waitFor();
    assert.equal(await name.getAttribute("aria-invalid"), "true");
    const describedBy = await name.getAttribute("aria-describedby");
    const errorId = describedBy.split(" ").find((id) => id.includes("error"));
    const message = await page.locator(`[id="${errorId}"]`).textContent();
    assert.match(message, /lowercase|DNS|letter/i, `the name's own error: ${message}`);
    await shot(page, "09-field-error");
    await signOut(page);
  });

  it("shows a viewer no mutating action", async () => {
    const page = await newPage();
    await signIn(page, server.viewer);
    await page.goto(`${server.url}/t/acme/clusters`);
    await page.getByTestId(`cluster-row-${server.cluster}`).waitFor();
    assert.equal(await page.getByRole("link", { name: "New cluster" }).count(), 0);
    await page.getByRole("link", { name: server.cluster, exact: true }).click();
    await page.getByRole("heading", { name: "Connect" }).waitFor();
    await page.locator('h1 [data-phase="ready"]').waitFor();
    for (const name of ["Scale / resize", "Parameters", "Suspend", "Delete", "Reveal password", "Rotate password"]) {
      assert.equal(await page.getByRole("button", { name, exact: true }).count(), 0, `${name} is hidden`);
    }
    assert.equal(await page.getByRole("heading", { name: "Actions" }).count(), 0);
    assert.equal(await page.getByRole("link", { name: "Audit log" }).count(), 0);
    // Extensions are shown, not changed.
    await page.getByRole("table", { name: "Extensions" }).getByRole("row", { name: /plpgsql/ }).waitFor();
    assert.equal(await page.getByPlaceholder("Choose one").count(), 0, "no extension to enable");
    assert.equal(await page.getByRole("button", { name: /^Disable extension/ }).count(), 0, "no extension to disable");
    await shot(page, "10-viewer-cluster");
    await signOut(page);
  });

  it("has no accessibility violations on the main screens", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    const found = { "/sign-in": await accessibilityViolations(page) };
    await signIn(page, server.admin);
    const screens = {
      "/t/acme": () => page.getByTestId("quota-clusters").waitFor(),
      "/t/acme/clusters": () => page.getByTestId(`cluster-row-${server.cluster}`).waitFor(),
      "/t/acme/clusters/new": () => page.getByTestId("quota-storage_gib").waitFor(),
      [`/t/acme/clusters/${server.cluster}`]: () => page.getByTestId("last-backup").waitFor(),
      "/t/acme/members": () => page.getByRole("table", { name: "Members" }).waitFor(),
      "/t/acme/audit": () => page.getByRole("table", { name: "Audit events" }).waitFor(),
      "/t/acme/api-keys": () => page.getByRole("button", { name: "Create key" }).waitFor(),
      "/admin/tenants": () => page.getByRole("table", { name: "Tenants" }).waitFor(),
      "/admin/users": () => page.getByRole("table", { name: "Users" }).waitFor(),
    };
    for (const [path, ready] of Object.entries(screens)) {
      await page.goto(`${server.url}${path}`);
      await ready();
      found[path] = await accessibilityViolations(page);
    }
    const problems = Object.entries(found).filter(([, v]) => v.length > 0);
    assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));
    await page.close();
  });

  it("keeps the session in an HttpOnly cookie that signing out ends on the server", async () => {
    const page = await newPage();
    await signIn(page, server.owner);
    const [cookie] = await browser.context.cookies(server.url);
    assert.equal(cookie?.name, "pgplane_session");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Lax");
    assert.equal(cookie.secure, false, "served over plain HTTP here");
    // Nothing a script can read signs anyone in: no cookie, no bearer token in storage.
    const readable = await page.evaluate(() => JSON.stringify({ cookies: document.cookie, storage: { ...sessionStorage, ...localStorage } }));
    assert.ok(!readable.includes(cookie.value), readable);
    assert.doesNotMatch(readable, /Bearer|eyJ/);
    // A new tab of the same browser is signed in by the cookie.
    const tab = await browser.context.newPage();
    await tab.goto(`${server.url}/t/acme/clusters`);
    await tab.getByRole("heading", { name: "Clusters" }).waitFor();
    await tab.close();

    await signOut(page);
    // The cookie someone copied before sign-out no longer works.
    const copied = await fetch(`${server.url}/v1/me`, { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(copied.status, 401);
  });

  it("refuses a change another page makes with the session cookie", async () => {
    const page = await newPage();
    await signIn(page, server.owner);
    // Another origin (a port is enough: same site, so SameSite=Lax still sends the cookie)
    // posting a form to pgplane, as a malicious page would: only the CSRF token stops it.
    const attacker = createServer((_, res) => {
      res.setHeader("Content-Type", "text/html");
      res.end(`<form method="post" action="${server.url}/v1/tenants/acme/clusters" enctype="text/plain">
        <input name='{"name":"csrf-attack","x":"' value='"}'></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    const refused = page.waitForResponse((r) => r.url().endsWith("/v1/tenants/acme/clusters") && r.request().method() === "POST");
    await page.goto(`http://127.0.0.1:${attacker.address().port}/`);
    const answer = await refused;
    attacker.close();
    assert.equal(answer.status(), 403);
    assert.match(await answer.text(), /CSRF/);
    const created = await fetch(`${server.url}/v1/tenants/acme/clusters/csrf-attack`, {
      headers: { Authorization: `Bearer ${server.admin_key}` },
    });
    assert.equal(created.status, 404, "the forged request created a cluster");
    await page.close();
  });

  it("returns to sign-in when the session is no longer valid", async () => {
    const page = await newPage();
    await signIn(page, server.owner);
    // The session ends on the server (signed out from another tab): the next request says so.
    const csrf = await page.evaluate(() => JSON.parse(sessionStorage.getItem("pgplane.session")).csrfToken);
    const [cookie] = await browser.context.cookies(server.url);
    const ended = await fetch(`${server.url}/v1/auth/session`, {
      method: "DELETE",
      headers: { Cookie: `${cookie.name}=${cookie.value}`, "X-CSRF-Token": csrf },
    });
    assert.equal(ended.status, 204);
    // The next request is refused: sign-in, saying why (whether the open page's own request or
    // the reloaded page's found out first)...
    await page.goto(`${server.url}/t/acme/clusters`);
    await page.waitForURL(/\/sign-in/);
    await page.getByText("Your session expired").waitFor();
    // ...and still after another reload.
    await page.reload();
    await page.getByText("Your session expired").waitFor();
    await page.close();
  });

  it("gives platform admins tenants, quotas, users and audit, readable on a tablet", async () => {
    const page = await newPage();
    await signIn(page, server.admin);
    await page.goto(`${server.url}/admin/tenants`);
    await page.getByRole("link", { name: "acme", exact: true }).waitFor();
    await page.getByRole("button", { name: "Edit quota of acme" }).click();
    await page.getByRole("dialog", { name: "Quota of acme" }).getByRole("textbox", { name: /^Clusters/ }).waitFor();
    await shot(page, "11-admin-quota", false);
    await page.keyboard.press("Escape");
    await shot(page, "12-admin-tenants");
    await page.goto(`${server.url}/admin/users`);
    await page.getByRole("cell", { name: server.viewer.email, exact: true }).waitFor();
    await shot(page, "13-admin-users");
    await page.goto(`${server.url}/t/acme/members`);
    await page.getByRole("cell", { name: server.owner.email, exact: true }).waitFor();
    await shot(page, "14-members");
    await page.goto(`${server.url}/t/acme/audit`);
    await page.getByRole("table", { name: "Audit events" }).getByText("clusters.create").first().waitFor();
    await shot(page, "15-audit-log");
    await page.goto(`${server.url}/t/acme/api-keys`);
    await page.getByRole("textbox", { name: /What is it for/ }).fill("terraform-ci");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = page.getByLabel("New API key", { exact: true });
    await key.waitFor();
    const keyText = await key.textContent();
    assert.match(keyText, /^pgp_/);
    await shot(page, "16-api-key-created", false);
    await page.getByRole("button", { name: "I have copied it" }).click();
    await page.getByRole("cell", { name: "terraform-ci", exact: true }).waitFor();
    // Used once, from this machine: the list says when and from where.
    const used = await fetch(`${server.url}/v1/tenants/acme/clusters`, {
      headers: { Authorization: `Bearer ${keyText}` },
    });
    assert.equal(used.status, 200);
    await page.reload();
    await page
      .getByRole("row", { name: /terraform-ci/ })
      .getByText("from 127.0.0.1")
      .waitFor();
    await page.close();

    const tablet = await newPage(TABLET);
    await signIn(tablet, server.admin);
    await tablet.goto(`${server.url}/t/acme/clusters/${server.cluster}`);
    await tablet.locator('h1 [data-phase="ready"]').waitFor();
    await shot(tablet, "17-tablet-cluster");
    await tablet.getByRole("button", { name: "Toggle navigation" }).click();
    await tablet.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Clusters" }).waitFor();
    await shot(tablet, "18-tablet-navigation", false);
    await tablet.close();
  });
});
