import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ClusterDetail } from "./ClusterDetail";
import { type Answer, fakeApi, json, me, problem, renderAt } from "../../test/render";
import { allowedActions, cluster, operation, standby, standbyReason, type Refusals } from "../../test/fixtures";

const at = { path: "/t/acme/clusters/orders", pattern: "/t/:tenant/clusters/:cluster" };
const connection = {
  database: "orders",
  user: "orders",
  sslmode: "verify-full",
  primary: { host: "orders-primary", port: 5432, uri: "postgresql://orders@orders-primary:5432/orders?sslmode=verify-full" },
};

const extensions = {
  items: [
    { name: "plpgsql", version: "1.0" },
    { name: "vector", version: "0.8.0" },
  ],
  allowed: [
    { name: "citext", description: "case-insensitive text" },
    { name: "vector", description: "pgvector: vector similarity search" },
  ],
};

function api(role: string, overrides: Record<string, Answer> = {}) {
  return fakeApi({
    "GET /v1/me": me(role),
    "GET /v1/tenants/acme/clusters/orders": cluster(),
    "GET /v1/tenants/acme/operations": { items: [operation({ state: "succeeded" })] },
    "GET /v1/tenants/acme/clusters/orders/connection": connection,
    "GET /v1/tenants/acme/clusters/orders/connection?reveal=true": { ...connection, password: "s3cret" },
    "PATCH /v1/tenants/acme/clusters/orders": () => json(operation({ kind: "update" }), 202),
    "GET /v1/tenants/acme/clusters/orders/backups": {
      overdue: false,
      last_successful_backup_at: "2026-01-02T01:00:00Z",
      recoverable_window: { earliest: "2026-01-01T01:00:00Z", latest: "2026-01-02T01:00:00Z" },
      items: [{ id: "b1", origin: "scheduled", type: "full", state: "succeeded", started_at: "2026-01-02T00:50:00Z", finished_at: "2026-01-02T01:00:00Z" }],
    },
    "POST /v1/tenants/acme/clusters/orders/backups": () => json(operation({ kind: "backup" }), 202),
    "POST /v1/tenants/acme/clusters/orders/restore": () => json(operation({ kind: "restore" }), 202),
    "GET /v1/tenants/acme/clusters/orders/databases/orders/extensions": extensions,
    "PUT /v1/tenants/acme/clusters/orders/databases/orders/extensions/citext": () => json(operation({ kind: "extension" }), 202),
    "DELETE /v1/tenants/acme/clusters/orders/databases/orders/extensions/vector": () => json(operation({ kind: "extension" }), 202),
    "POST /v1/tenants/acme/clusters/orders/upgrade": () => json(operation({ kind: "minor_upgrade" }), 202),
    "GET /v1/tenants/acme/clusters/orders/users": {
      items: [
        { name: "orders", owner: true, databases: ["orders"], options: null },
        { name: "reporting", owner: false, databases: ["analytics"], options: null },
      ],
    },
    ...overrides,
  });
}

/** A control of the page by its accessible name: buttons, and the protection switch. */
const control = (name: string) => (name === "Deletion protection" ? screen.getByRole("switch", { name }) : screen.getByRole("button", { name }));

/** Each control and the actions of allowed_actions it carries (several: it is refused when all are). */
const CONTROLS: [string, Refusals][] = [
  ["Scale / resize", { scale: "no scale", resize: "no resize" }],
  ["Parameters", { parameters: "no parameters" }],
  ["Rotate password", { rotate_password: "no rotation" }],
  ["Switchover", { switchover: "no switchover" }],
  ["Upgrade PostgreSQL", { minor_upgrade: "no minor upgrade", upgrade: "no major upgrade" }],
  ["Clone", { clone: "no clone" }],
  ["Suspend", { suspend: "no suspend" }],
  ["Delete", { delete: "no delete" }],
  ["Deletion protection", { update: "no update" }],
  ["Back up now", { backup: "no backup" }],
  ["Restore…", { restore: "no restore" }],
  ["Add role", { roles: "no roles" }],
  ["Edit role reporting", { roles: "no roles" }],
  ["Drop role reporting", { roles: "no roles" }],
  ["Disable extension vector", { extensions: "no extensions" }],
];

describe("the cluster page", () => {
  it("shows a viewer the cluster and its connection but no action and no reveal", async () => {
    api("viewer");
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByText(/postgresql:\/\/orders@orders-primary/)).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("heading", { name: "Actions" })).not.toBeInTheDocument());
    for (const name of [/Scale/, /Delete/, /Suspend/, /Reveal password/, /Parameters/]) {
      expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
    }
  });

  it("reveals the password only after a confirmation", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: /Reveal password/ }));
    expect(seen.some((r) => r.url.includes("reveal=true"))).toBe(false);
    await user.click(await screen.findByRole("button", { name: "Reveal" }));
    expect(await screen.findByText("s3cret")).toBeInTheDocument();
    expect(seen.filter((r) => r.url.includes("reveal=true"))).toHaveLength(1);
  });

  it("connects as another role of the cluster and reveals that role's password", async () => {
    const withRole = cluster();
    withRole.spec.users = [{ name: "reporting", databases: ["analytics"], options: null }];
    const reporting = { ...connection, user: "reporting", database: "analytics",
      primary: { ...connection.primary, uri: "postgresql://reporting@orders-primary:5432/analytics?sslmode=verify-full" } };
    const seen = api("developer", {
      "GET /v1/tenants/acme/clusters/orders": withRole,
      "GET /v1/tenants/acme/clusters/orders/connection?role=reporting": reporting,
      "GET /v1/tenants/acme/clusters/orders/connection?role=reporting&reveal=true": { ...reporting, password: "r3port" },
    });
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("combobox", { name: "Connect as" }));
    await user.click(await screen.findByRole("option", { name: "reporting", hidden: true }));
    expect(await screen.findByText(/postgresql:\/\/reporting@orders-primary/)).toBeInTheDocument();
    await user.click(await screen.findByRole("button", { name: /Reveal password/ }));
    await user.click(await screen.findByRole("button", { name: "Reveal" }));
    expect(await screen.findByText("r3port")).toBeInTheDocument();
    expect(seen.filter((r) => r.url.includes("role=reporting&reveal=true"))).toHaveLength(1);
  });

  it("scales with a merge patch of what changed", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: /Scale/ }));
    const instances = await screen.findByRole("textbox", { name: /Instances/ });
    await user.clear(instances);
    await user.type(instances, "3");
    await user.click(screen.getByRole("button", { name: "Apply changes" }));
    await waitFor(() => expect(seen.some((r) => r.method === "PATCH")).toBe(true));
    const patch = seen.find((r) => r.method === "PATCH")!;
    expect(patch.headers.get("Content-Type")).toBe("application/merge-patch+json");
    expect(await patch.json()).toEqual({ instances: 3 });
  });

  it("deletes only once the name is typed", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: /^Delete$/ }));
    const confirm = await screen.findByRole("button", { name: "Delete cluster" });
    expect(confirm).toBeDisabled();
    await user.type(screen.getByRole("textbox", { name: /Type orders to confirm/ }), "order");
    expect(confirm).toBeDisabled();
    await user.type(screen.getByRole("textbox", { name: /Type orders to confirm/ }), "s");
    expect(confirm).toBeEnabled();
    expect(seen.some((r) => r.method === "DELETE")).toBe(false);
  });

  it("backs up now and shows the recoverable window", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    expect(await screen.findByTestId("recoverable-window")).toHaveTextContent("–");
    await user.click(await screen.findByRole("button", { name: "Back up now" }));
    await user.click(await screen.findByRole("radio", { name: "Incremental" }));
    await user.click(screen.getByRole("button", { name: "Start backup" }));
    await waitFor(() => expect(seen.some((r) => r.method === "POST" && r.url.endsWith("/backups"))).toBe(true));
    const post = seen.find((r) => r.method === "POST" && r.url.endsWith("/backups"))!;
    expect(await post.json()).toEqual({ type: "incremental" });
  });

  it("restores to a point in time only after the name is typed", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: /Restore/ }));
    await user.click(await screen.findByRole("radio", { name: "A point in time" }));
    const restore = screen.getByRole("button", { name: "Restore" });
    expect(restore).toBeDisabled();
    await user.type(screen.getByRole("textbox", { name: /Type orders to confirm/ }), "orders");
    await user.click(restore);
    await waitFor(() => expect(seen.some((r) => r.url.endsWith("/restore"))).toBe(true));
    const body: unknown = await seen.find((r) => r.url.endsWith("/restore"))!.json();
    // The form starts at the latest recoverable time.
    expect(body).toEqual({ target_time: "2026-01-02T01:00:00.000Z" });
  });

  it("offers a viewer neither backup nor restore", async () => {
    api("viewer");
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByTestId("last-backup")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Back up now" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Restore/ })).not.toBeInTheDocument();
  });

  it("lists a database's extensions and enables an allowed one", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Extensions" });
    expect(table).toHaveTextContent("vector");
    expect(table).toHaveTextContent("0.8.0");
    // plpgsql is not the tenant's to drop; vector is.
    expect(screen.queryByRole("button", { name: "Disable extension plpgsql" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Disable extension vector" })).toBeInTheDocument();
    await user.click(screen.getByPlaceholderText("Choose one"));
    // Installed ones are not offered again.
    expect(await screen.findByRole("option", { name: /citext/, hidden: true })).toBeInTheDocument();
    expect(screen.queryByRole("option", { name: /^vector/, hidden: true })).not.toBeInTheDocument();
    await user.click(screen.getByRole("option", { name: /citext/, hidden: true }));
    expect(screen.getByTestId("extension-description")).toHaveTextContent("case-insensitive text");
    await user.click(screen.getByRole("button", { name: "Enable" }));
    await waitFor(() => expect(seen.some((r) => r.method === "PUT")).toBe(true));
    expect(seen.find((r) => r.method === "PUT")!.url).toMatch(/\/databases\/orders\/extensions\/citext$/);
  });

  it("disables an extension only after a confirmation", async () => {
    const seen = api("developer");
    renderAt(<ClusterDetail />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Disable extension vector" }));
    expect(seen.some((r) => r.method === "DELETE")).toBe(false);
    await user.click(await screen.findByRole("button", { name: "Disable extension" }));
    await waitFor(() => expect(seen.some((r) => r.method === "DELETE" && r.url.endsWith("/extensions/vector"))).toBe(true));
  });

  it("shows a viewer the extensions but no way to change them", async () => {
    api("viewer");
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByRole("table", { name: "Extensions" })).toHaveTextContent("vector");
    expect(screen.queryByRole("button", { name: /Disable extension/ })).not.toBeInTheDocument();
    expect(screen.queryByPlaceholderText("Choose one")).not.toBeInTheDocument();
  });

  it("says plainly when the cluster is not running", async () => {
    api("developer", {
      "GET /v1/tenants/acme/clusters/orders/databases/orders/extensions": () => problem(409, "orders is suspended"),
    });
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByTestId("extensions-unavailable")).toHaveTextContent(/once the cluster is running \(orders is suspended\)/);
  });

  it("shows what the backup repository holds and where the window comes from", async () => {
    api("viewer", {
      "GET /v1/tenants/acme/clusters/orders/backups": {
        overdue: false,
        last_successful_backup_at: "2026-01-02T01:00:00Z",
        recoverable_window: { earliest: "2026-01-01T01:00:00Z", latest: "2026-01-02T01:00:00Z" },
        items: [],
        window_source: "repository",
        repository_error: null,
        repository: {
          status: "ok",
          backup_running: false,
          newest_wal: "000000010000000000000007",
          backups: [
            { label: "20260101-010000F", type: "full", repo: "repo1", started_at: "2026-01-01T00:59:00Z", finished_at: "2026-01-01T01:00:00Z", database_size_bytes: 31_457_280, repository_size_bytes: 4_194_304 },
            { label: "20260101-010000F_20260102-010000I", type: "incremental", repo: "repo1", started_at: "2026-01-02T00:59:00Z", finished_at: "2026-01-02T01:00:00Z", database_size_bytes: 32_505_856, repository_size_bytes: 1536, prior: "20260101-010000F" },
          ],
        },
      },
    });
    renderAt(<ClusterDetail />, at);
    const table = await screen.findByRole("table", { name: "Repository backups" });
    const rows = table.querySelectorAll("tbody tr");
    expect(rows).toHaveLength(2);
    // Newest first, sizes for people.
    expect(rows[0]).toHaveTextContent("20260101-010000F_20260102-010000I");
    expect(rows[0]).toHaveTextContent("1.5 KiB");
    expect(rows[1]).toHaveTextContent("30 MiB");
    expect(rows[1]).toHaveTextContent("4 MiB");
    expect(screen.getByTestId("window-source")).toHaveTextContent("from what the backup repository holds");
  });

  it("warns when the repository could not be read", async () => {
    api("viewer", {
      "GET /v1/tenants/acme/clusters/orders/backups": {
        overdue: false,
        last_successful_backup_at: null,
        recoverable_window: null,
        items: [],
        window_source: "records",
        repository: null,
        repository_error: "the primary could not be reached",
      },
    });
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByText("The backup repository could not be read")).toBeInTheDocument();
    expect(screen.getByText(/the primary could not be reached/)).toBeInTheDocument();
    expect(screen.getByTestId("window-source")).toHaveTextContent("from the backups pgplane saw finish");
    expect(screen.queryByRole("table", { name: "Repository backups" })).not.toBeInTheDocument();
  });

  it("shows the image the cluster runs, or the operator's default", async () => {
    api("viewer", {
      "GET /v1/tenants/acme/clusters/orders": cluster({ status: { ...cluster().status, postgres_image: "registry.example.com/crunchy-postgres:ubi9-18.1-0" } }),
    });
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByTestId("postgres-image")).toHaveTextContent("registry.example.com/crunchy-postgres:ubi9-18.1-0");
  });

  it("shows when the server certificate expires, and says so when its renewal fails", async () => {
    const certificate = { expires_at: "2027-03-01T12:00:00Z", renewal_error: null };
    api("viewer", {
      "GET /v1/tenants/acme/clusters/orders": cluster({ status: { ...cluster().status, certificate } }),
    });
    const { unmount } = renderAt(<ClusterDetail />, at);
    const shown = await screen.findByTestId("certificate");
    expect(shown).toHaveTextContent(/expires .*2027/);
    expect(shown).toHaveTextContent("renewed automatically before then");
    unmount();

    const failing = { ...certificate, renewal_error: "reading the tenant CA: Secret lacks ca.key" };
    api("viewer", {
      "GET /v1/tenants/acme/clusters/orders": cluster({ status: { ...cluster().status, certificate: failing } }),
    });
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByTestId("certificate")).toHaveTextContent("renewal failing: reading the tenant CA: Secret lacks ca.key");
  });

  it("asks for the newest minor version with no version, and shows why the API refuses", async () => {
    const seen = api("developer", {
      "POST /v1/tenants/acme/clusters/orders/upgrade": () => problem(409, "orders already runs the newest approved image"),
    });
    renderAt(<ClusterDetail />, at);
    expect(await screen.findByTestId("postgres-image")).toHaveTextContent("operator default");
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Upgrade PostgreSQL" }));
    await user.click(await screen.findByRole("button", { name: "Upgrade minor version" }));
    expect(await screen.findByText(/already runs the newest approved image/)).toBeInTheDocument();
    const post = seen.find((r) => r.method === "POST" && r.url.endsWith("/upgrade"))!;
    expect(await post.json()).toEqual({});
  });

  describe("follows the server's allowed_actions", () => {
    it("enables every control the server allows", async () => {
      api("developer");
      renderAt(<ClusterDetail />, at);
      await screen.findByRole("button", { name: "Disable extension vector" });
      await screen.findByRole("button", { name: "Drop role reporting" });
      for (const [name] of CONTROLS.filter(([name]) => name !== "Clone")) {
        expect(control(name), name).toBeEnabled();
        expect(control(name), name).not.toHaveAttribute("title");
      }
      // Clone is a link to the create form when allowed (a button when refused).
      expect(screen.getByRole("link", { name: "Clone" })).toHaveAttribute("href", "/t/acme/clusters/new?clone=orders");
    });

    it("disables each control the server refuses, with the server's reason", async () => {
      const refused: Refusals = CONTROLS.reduce<Refusals>((all, [, r]) => ({ ...all, ...r }), {});
      api("developer", { "GET /v1/tenants/acme/clusters/orders": cluster({ allowed_actions: allowedActions(refused) }) });
      renderAt(<ClusterDetail />, at);
      await screen.findByRole("button", { name: "Disable extension vector" });
      await screen.findByRole("button", { name: "Drop role reporting" });
      for (const [name, reasons] of CONTROLS) {
        expect(control(name), name).toBeDisabled();
        expect(control(name), name).toHaveAccessibleDescription(Object.values(reasons).join("; "));
      }
      // The extensions' reason is also said once under their table.
      expect(screen.getByTestId("extensions-refused")).toHaveTextContent("no extensions");
    });

    it("resumes a suspended cluster when the server allows resume", async () => {
      const suspended = cluster({ spec: { ...cluster().spec, suspended: true } });
      api("developer", {
        "GET /v1/tenants/acme/clusters/orders": { ...suspended, allowed_actions: allowedActions({ suspend: "cluster `orders` is already suspended" }) },
      });
      renderAt(<ClusterDetail />, at);
      expect(await screen.findByRole("button", { name: "Resume" })).toBeEnabled();
    });

    it("opens scale / resize when only scaling is allowed, with the resources locked and why", async () => {
      api("developer", {
        "GET /v1/tenants/acme/clusters/orders": cluster({ allowed_actions: allowedActions({ resize: "the platform cannot resize" }) }),
      });
      renderAt(<ClusterDetail />, at);
      const user = userEvent.setup();
      await user.click(await screen.findByRole("button", { name: "Scale / resize" }));
      expect(await screen.findByRole("textbox", { name: /Instances/ })).toBeEnabled();
      expect(screen.getByRole("textbox", { name: "CPU per instance" })).toBeDisabled();
      expect(screen.getByRole("textbox", { name: /Storage per instance/ })).toBeDisabled();
      expect(screen.getByTestId("resize-refused")).toHaveTextContent("the platform cannot resize");
    });

    it("offers only the upgrade the server allows, and says why not the other", async () => {
      const on16 = cluster({ spec: { ...cluster().spec, postgres_version: 16 } });
      const seen = api("developer", {
        "GET /v1/tenants/acme/clusters/orders": { ...on16, allowed_actions: allowedActions({ minor_upgrade: "the platform approves no image for PostgreSQL 16" }) },
        "POST /v1/tenants/acme/clusters/orders/upgrade": () => json(operation({ kind: "upgrade" }), 202),
      });
      renderAt(<ClusterDetail />, at);
      const user = userEvent.setup();
      await user.click(await screen.findByRole("button", { name: "Upgrade PostgreSQL" }));
      const dialog = await screen.findByRole("dialog", { name: "Upgrade orders" });
      expect(within(dialog).getByTestId("upgrade-not-offered")).toHaveTextContent("No minor version upgrade: the platform approves no image for PostgreSQL 16");
      expect(within(dialog).getByRole("combobox", { name: "Upgrade to" })).toHaveValue("PostgreSQL 18 (major version)");
      await user.click(within(dialog).getByRole("button", { name: "Upgrade to 18" }));
      await waitFor(() => expect(seen.some((r) => r.url.endsWith("/upgrade"))).toBe(true));
      expect(await seen.find((r) => r.url.endsWith("/upgrade"))!.json()).toEqual({ postgres_version: 18 });
    });
  });

  describe("of a standby", () => {
    const dr = { path: "/t/acme/clusters/orders-dr", pattern: "/t/:tenant/clusters/:cluster" };
    const WARNING = "orders is still running as a primary: stop writes to it before pointing clients at orders-dr.";

    function standbyApi(role: string, overrides: Record<string, Answer> = {}) {
      return fakeApi({
        "GET /v1/me": me(role),
        "GET /v1/tenants/acme/clusters/orders-dr": standby("orders"),
        "GET /v1/tenants/acme/operations": { items: [operation({ kind: "create", cluster: "orders-dr", state: "succeeded" })] },
        "GET /v1/tenants/acme/clusters/orders-dr/connection": { ...connection, database: "orders-dr", user: "orders-dr" },
        "GET /v1/tenants/acme/clusters/orders-dr/backups": { overdue: false, last_successful_backup_at: null, recoverable_window: null, items: [] },
        "GET /v1/tenants/acme/clusters/orders-dr/databases/orders-dr/extensions": extensions,
        "POST /v1/tenants/acme/clusters/orders-dr/promote": () =>
          json(operation({ kind: "promote", cluster: "orders-dr", state: "pending", warning: WARNING }), 202),
        ...overrides,
      });
    }

    it("says what it follows, read-only, with a link to the source", async () => {
      standbyApi("viewer");
      renderAt(<ClusterDetail />, dr);
      const banner = await screen.findByTestId("standby-banner");
      expect(banner).toHaveTextContent("Standby of orders · read-only");
      expect(within(banner).getByRole("link", { name: "orders" })).toHaveAttribute("href", "/t/acme/clusters/orders");
      // Its primary replays orders' changes: no "read-write" on its connection string.
      expect(await screen.findByLabelText("Primary (read-only: standby) connection string")).toBeInTheDocument();
    });

    it("marks a standby on the platform's recovery site, and only such a one", async () => {
      standbyApi("viewer", { "GET /v1/tenants/acme/clusters/orders-dr": { ...standby("orders"), site: "recovery" } });
      renderAt(<ClusterDetail />, dr);
      expect(await screen.findByText("recovery site")).toBeInTheDocument();
    });

    it("shows no recovery-site mark for a standby beside its source", async () => {
      standbyApi("viewer");
      renderAt(<ClusterDetail />, dr);
      expect(await screen.findByTestId("standby-banner")).toBeInTheDocument();
      expect(screen.queryByText("recovery site")).not.toBeInTheDocument();
    });

    it("shows a viewer the badge but no Promote", async () => {
      standbyApi("viewer");
      renderAt(<ClusterDetail />, dr);
      expect(await screen.findByTestId("standby-banner")).toBeInTheDocument();
      expect(screen.queryByRole("button", { name: /Promote/ })).not.toBeInTheDocument();
    });

    it("promotes only after a confirmation that says to stop writes to the source, then shows the API's warning", async () => {
      const seen = standbyApi("developer");
      renderAt(<ClusterDetail />, dr);
      const user = userEvent.setup();
      await user.click(await screen.findByRole("button", { name: "Promote…" }));
      const dialog = await screen.findByRole("dialog", { name: "Promote orders-dr?" });
      expect(dialog).toHaveTextContent("stops following orders");
      expect(dialog).toHaveTextContent("orders keeps running as a primary");
      expect(dialog).toHaveTextContent(/Stop writes to orders \(suspend or delete it\) before you point clients at orders-dr/);
      expect(seen.some((r) => r.method === "POST")).toBe(false);
      await user.click(within(dialog).getByRole("button", { name: "Promote to primary" }));
      await waitFor(() => expect(seen.some((r) => r.method === "POST" && r.url.endsWith("/clusters/orders-dr/promote"))).toBe(true));
      expect(await seen.find((r) => r.url.endsWith("/promote"))!.json()).toEqual({});
      expect(await screen.findByTestId("operation-warning")).toHaveTextContent(WARNING);
      await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    });

    it("shows why the API refuses to promote", async () => {
      standbyApi("developer", {
        "POST /v1/tenants/acme/clusters/orders-dr/promote": () => problem(409, "orders-dr is not ready yet"),
      });
      renderAt(<ClusterDetail />, dr);
      const user = userEvent.setup();
      await user.click(await screen.findByRole("button", { name: "Promote…" }));
      await user.click(await screen.findByRole("button", { name: "Promote to primary" }));
      const dialog = screen.getByRole("dialog", { name: "Promote orders-dr?" });
      expect(await within(dialog).findByText("orders-dr is not ready yet")).toBeInTheDocument();
      expect(within(dialog).getByText("Not promoted")).toBeInTheDocument();
    });

    it("disables what the server refuses a standby, with its reasons", async () => {
      standbyApi("developer");
      renderAt(<ClusterDetail />, dr);
      const refused = (kind: string) => standbyReason("orders-dr", "orders", kind);
      const expected: [string, string][] = [
        ["Back up now", refused("backup")],
        ["Restore…", refused("restore")],
        ["Upgrade PostgreSQL", `${refused("minor_upgrade")}; ${refused("upgrade")}`],
        ["Rotate password", refused("rotate_password")],
        ["Switchover", refused("switchover")],
        ["Clone", "`orders-dr` is a standby of `orders` and takes no backups: clone `orders` instead"],
        ["Disable extension vector", refused("extension")],
      ];
      for (const [name, reason] of expected) {
        const button = await screen.findByRole("button", { name });
        expect(button, name).toBeDisabled();
        expect(button, name).toHaveAccessibleDescription(reason);
      }
      // Clone is a plain button here, not a link to the create form.
      expect(screen.queryByRole("link", { name: "Clone" })).not.toBeInTheDocument();
      // What the server allows a standby stays available.
      for (const name of [/Scale/, /Parameters/, /^Suspend$/, /^Delete$/, /Promote/]) {
        expect(screen.getByRole("button", { name })).toBeEnabled();
      }
      expect(screen.getByTestId("extensions-refused")).toHaveTextContent(refused("extension"));
    });

    it("disables Promote with the server's reason when it refuses", async () => {
      standbyApi("developer", {
        "GET /v1/tenants/acme/clusters/orders-dr": {
          ...standby("orders"),
          allowed_actions: allowedActions({ promote: "cluster `orders-dr` is suspended: resume it before a promotion" }),
        },
      });
      renderAt(<ClusterDetail />, dr);
      const promote = await screen.findByRole("button", { name: "Promote…" });
      expect(promote).toBeDisabled();
      expect(promote).toHaveAccessibleDescription("cluster `orders-dr` is suspended: resume it before a promotion");
    });

    it("offers no Promote on a cluster that is not a standby", async () => {
      api("developer");
      renderAt(<ClusterDetail />, at);
      expect(await screen.findByRole("button", { name: /Scale/ })).toBeEnabled();
      expect(screen.queryByTestId("standby-banner")).not.toBeInTheDocument();
      expect(screen.queryByRole("button", { name: /Promote/ })).not.toBeInTheDocument();
      expect(screen.getByRole("link", { name: "Clone" })).toBeInTheDocument();
    });
  });
});
