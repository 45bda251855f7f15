import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Clusters, filterClusters } from "./Clusters";
import { fakeApi, me, renderAt } from "../../test/render";
import { cluster, standby } from "../../test/fixtures";
import type { components } from "../api/schema";

const at = { path: "/t/acme/clusters", pattern: "/t/:tenant/clusters" };
type Phase = components["schemas"]["Phase"];
const status = (phase: Phase) => ({ ...cluster().status, phase });

describe("the clusters list", () => {
  it("filters by name and by phase", () => {
    const all = [cluster({ name: "orders" }), cluster({ name: "billing", status: status("provisioning") })];
    expect(filterClusters(all, "ORD", null).map((c) => c.name)).toEqual(["orders"]);
    expect(filterClusters(all, "", "provisioning").map((c) => c.name)).toEqual(["billing"]);
  });

  it("updates status badges without a reload", async () => {
    let phase: Phase = "provisioning";
    fakeApi({
      "GET /v1/me": me("viewer"),
      "GET /v1/tenants/acme/clusters": () =>
        new Response(JSON.stringify({ items: [cluster({ status: status(phase) })] }), { headers: { "Content-Type": "application/json" } }),
    });
    renderAt(<Clusters />, at);
    const row = await screen.findByTestId("cluster-row-orders");
    expect(within(row).getByText("provisioning")).toBeInTheDocument();
    phase = "ready";
    await waitFor(() => expect(within(row).getByText("ready")).toBeInTheDocument(), { timeout: 5000 });
  });

  it("offers viewers no New cluster button", async () => {
    fakeApi({ "GET /v1/me": me("viewer"), "GET /v1/tenants/acme/clusters": { items: [] } });
    renderAt(<Clusters />, at);
    expect(await screen.findByText("No clusters yet.")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: /New cluster/ })).not.toBeInTheDocument();
  });

  it("lets a developer search", async () => {
    fakeApi({
      "GET /v1/me": me("developer"),
      "GET /v1/tenants/acme/clusters": { items: [cluster({ name: "orders" }), cluster({ id: "c2", name: "billing" })] },
    });
    renderAt(<Clusters />, at);
    await screen.findByTestId("cluster-row-billing");
    await userEvent.type(screen.getByRole("textbox", { name: /Search clusters/ }), "bill");
    expect(screen.queryByTestId("cluster-row-orders")).not.toBeInTheDocument();
    expect(await screen.findByRole("link", { name: /New cluster/ })).toBeInTheDocument();
  });

  it("marks a standby with the cluster it follows", async () => {
    fakeApi({ "GET /v1/me": me("viewer"), "GET /v1/tenants/acme/clusters": { items: [cluster(), standby("orders", "orders-dr")] } });
    renderAt(<Clusters />, at);
    expect(await screen.findByTestId("cluster-row-orders-dr")).toHaveTextContent("standby of orders");
    expect(screen.getByTestId("cluster-row-orders")).not.toHaveTextContent("standby");
  });
});
