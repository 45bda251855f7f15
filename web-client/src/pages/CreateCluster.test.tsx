import { describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { CreateCluster } from "./CreateCluster";
import { fakeApi, json, me, problem, renderAt } from "../../test/render";
import { allowedActions, cluster, operation, quota, standby } from "../../test/fixtures";

const at = { path: "/t/acme/clusters/new", pattern: "/t/:tenant/clusters/new" };

describe("the create-cluster form", () => {
  it("shows the API's field errors next to their fields", async () => {
    fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "POST /v1/tenants/acme/clusters": () =>
        problem(422, "2 fields are invalid", [
          { field: "name", message: "must start with a lowercase letter" },
          { field: "resources.cpu", message: "`lots` is not a CPU quantity" },
        ]),
    });
    renderAt(<CreateCluster />, at);
    const user = userEvent.setup();
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "9orders");
    const cpu = screen.getByRole("textbox", { name: "CPU per instance" });
    await user.clear(cpu);
    await user.type(cpu, "lots");
    await user.click(screen.getByRole("button", { name: "Create cluster" }));
    const name = screen.getByRole("textbox", { name: /^Name/ });
    await waitFor(() => expect(name).toHaveAccessibleDescription(/must start with a lowercase letter/));
    expect(screen.getByRole("textbox", { name: "CPU per instance" })).toHaveAccessibleDescription(/is not a CPU quantity/);
    expect(screen.getByRole("alert")).toHaveTextContent("The cluster was not created");
  });

  it("sends the preset's sizes and HA as instances", async () => {
    const seen = fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "POST /v1/tenants/acme/clusters": () => json(operation(), 202),
    });
    renderAt(<CreateCluster />, at);
    const user = userEvent.setup();
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "orders");
    await user.click(screen.getByRole("radio", { name: "Medium" }));
    await user.click(screen.getByRole("switch", { name: /High availability/ }));
    await user.click(screen.getByRole("button", { name: "Create cluster" }));
    await waitFor(() => expect(screen.getByText("elsewhere")).toBeInTheDocument());
    const post = seen.find((r) => r.method === "POST")!;
    expect(await post.json()).toMatchObject({ name: "orders", instances: 2, resources: { cpu: "2", memory: "4Gi" }, storage: { size: "50Gi" } });
  });

  it("shows the headroom and refuses to submit over quota", async () => {
    fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota({ max_cpu_millis: 2200 }),
    });
    renderAt(<CreateCluster />, at);
    expect(await screen.findByText(/exceed the tenant's cpu quota/i)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create cluster" })).toBeDisabled();
    expect(screen.getByTestId("quota-cpu_millis")).toHaveTextContent("2 CPU + 0.5 CPU of 2.2 CPU — over quota");
  });

  it("clones the cluster named in the link, showing its recoverable window", async () => {
    const seen = fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "GET /v1/tenants/acme/clusters": { items: [cluster()] },
      "GET /v1/tenants/acme/clusters/orders/backups": {
        overdue: false,
        items: [],
        recoverable_window: { earliest: "2026-01-01T00:00:00Z", latest: "2026-01-02T00:00:00Z" },
      },
      "POST /v1/tenants/acme/clusters": () => json(operation(), 202),
    });
    renderAt(<CreateCluster />, { path: "/t/acme/clusters/new?clone=orders", pattern: "/t/:tenant/clusters/new" });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId("clone-window")).toHaveTextContent(/Recoverable from/));
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "orders-copy");
    await user.click(screen.getByRole("button", { name: "Create cluster" }));
    await waitFor(() => expect(seen.some((r) => r.method === "POST")).toBe(true));
    expect(await seen.find((r) => r.method === "POST")!.json()).toMatchObject({ name: "orders-copy", source: { cluster: "orders" } });
  });

  it("creates a standby of another cluster with that cluster's version, and no clone", async () => {
    const orders = cluster({ spec: { ...cluster().spec, postgres_version: 16 } });
    const seen = fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "GET /v1/tenants/acme/clusters": { items: [orders, standby("orders", "orders-dr")] },
      "POST /v1/tenants/acme/clusters": () => json(operation({ cluster: "orders-dr2" }), 202),
    });
    renderAt(<CreateCluster />, at);
    const user = userEvent.setup();
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "orders-dr2");
    await user.click(screen.getByRole("radio", { name: "A copy of a cluster" }));
    await user.click(screen.getByRole("radio", { name: "A standby of a cluster" }));
    expect(screen.getByTestId("standby-explanation")).toHaveTextContent(/read-only copy that follows the cluster by streaming replication/i);
    // The clone's inputs are gone; the first cluster it may follow is chosen, with its version.
    expect(screen.queryByRole("combobox", { name: /Cluster to copy/ })).not.toBeInTheDocument();
    const follow = await screen.findByRole("combobox", { name: /Cluster to follow/ });
    await waitFor(() => expect(follow).toHaveValue("orders"));
    const version = screen.getByRole("combobox", { name: /PostgreSQL version/ });
    expect(version).toHaveValue("PostgreSQL 16");
    expect(version).toBeDisabled();
    // The server refuses to follow a standby: listed, not offered, with its reason.
    await user.click(follow);
    expect(await screen.findByRole("option", { name: "orders", hidden: true })).not.toHaveAttribute("aria-disabled", "true");
    const refused = screen.getByRole("option", { name: /^orders-dr/, hidden: true });
    expect(refused).toHaveAttribute("aria-disabled", "true");
    expect(refused).toHaveTextContent("`orders-dr` is itself a standby of `orders`: follow `orders`, or promote `orders-dr` first");
    await user.click(screen.getByRole("option", { name: "orders", hidden: true }));
    await user.click(screen.getByRole("button", { name: "Create cluster" }));
    await waitFor(() => expect(seen.some((r) => r.method === "POST")).toBe(true));
    const body: unknown = await seen.find((r) => r.method === "POST")!.json();
    expect(body).toMatchObject({ name: "orders-dr2", standby: { source: "orders" } });
    expect(body).not.toHaveProperty("source");
    expect(body).not.toHaveProperty("postgres_version");
  });

  it("shows why the API refuses a standby next to the cluster it follows", async () => {
    fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "GET /v1/tenants/acme/clusters": { items: [cluster()] },
      "POST /v1/tenants/acme/clusters": () => problem(422, "1 field is invalid", [{ field: "standby.source", message: "orders is itself a standby" }]),
    });
    renderAt(<CreateCluster />, at);
    const user = userEvent.setup();
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "orders-dr");
    await user.click(screen.getByRole("radio", { name: "A standby of a cluster" }));
    await waitFor(() => expect(screen.getByRole("combobox", { name: /Cluster to follow/ })).toHaveValue("orders"));
    await user.click(screen.getByRole("button", { name: "Create cluster" }));
    await waitFor(() => expect(screen.getByRole("combobox", { name: /Cluster to follow/ })).toHaveAccessibleDescription(/is itself a standby/));
  });

  it("offers to copy only the clusters the server allows to clone, saying why not the others", async () => {
    const noBackup = "cluster `fresh` has no successful full backup to clone from yet";
    const fresh = cluster({ id: "c3", name: "fresh", allowed_actions: allowedActions({ clone: noBackup }) });
    fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/quota": quota(),
      "GET /v1/tenants/acme/clusters": { items: [fresh, cluster(), standby("orders", "orders-dr")] },
      "GET /v1/tenants/acme/clusters/orders/backups": { overdue: false, items: [], recoverable_window: null },
    });
    renderAt(<CreateCluster />, at);
    const user = userEvent.setup();
    await user.click(screen.getByRole("radio", { name: "A copy of a cluster" }));
    // The first cluster the server allows is chosen.
    const copy = await screen.findByRole("combobox", { name: /Cluster to copy/ });
    await waitFor(() => expect(copy).toHaveValue("orders"));
    await user.click(copy);
    expect(await screen.findByRole("option", { name: "orders", hidden: true })).not.toHaveAttribute("aria-disabled", "true");
    for (const [name, reason] of [
      ["fresh", noBackup],
      ["orders-dr", "`orders-dr` is a standby of `orders` and takes no backups: clone `orders` instead"],
    ]) {
      const option = screen.getByRole("option", { name: new RegExp(`^${name}`), hidden: true });
      expect(option, name).toHaveAttribute("aria-disabled", "true");
      expect(option, name).toHaveTextContent(reason!);
    }
  });
});
