import { describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ClusterDetail } from "./ClusterDetail";
import { fakeApi, json, me, renderAt } from "../../test/render";
import { cluster, operation } from "../../test/fixtures";

const at = { path: "/t/acme/clusters/orders", pattern: "/t/:tenant/clusters/:cluster" };
const connection = {
  database: "orders",
  user: "orders",
  sslmode: "verify-full",
  primary: { host: "orders-primary", port: 5432, uri: "postgresql://orders@orders-primary:5432/orders?sslmode=verify-full" },
};

function api(role: string) {
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
  });
}

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
    const body = await seen.find((r) => r.url.endsWith("/restore"))!.json();
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
});
