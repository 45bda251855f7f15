import { describe, expect, it } from "vitest";
import { clusterDatabases, enableable, extensionsUnavailable, mayDisable } from "./ExtensionsPanel";
import { cluster } from "../../test/fixtures";

const list = {
  items: [
    { name: "pgaudit", version: "17.0" },
    { name: "plpgsql", version: "1.0" },
    { name: "vector", version: "0.8.0" },
  ],
  allowed: [
    { name: "citext", description: "case-insensitive text" },
    { name: "pgaudit", description: "session and object audit logging" },
    { name: "vector", description: "pgvector: vector similarity search" },
  ],
};

const problem = (status: number, detail = "") => ({ status, title: "Conflict", detail });

describe("clusterDatabases", () => {
  it("lists the cluster's database, then each role's, once each", () => {
    const c = cluster();
    c.spec.users = [
      { name: "reporting", databases: ["analytics", "orders"], options: null },
      { name: "etl", databases: ["analytics", "staging"], options: null },
    ] as typeof c.spec.users;
    expect(clusterDatabases(c)).toEqual(["orders", "analytics", "staging"]);
  });
  it("is just the cluster's database without extra roles", () => {
    expect(clusterDatabases(cluster())).toEqual(["orders"]);
  });
});

describe("which extensions can change", () => {
  it("offers only allow-listed extensions that are not installed", () => {
    expect(enableable(list).map((e) => e.name)).toEqual(["citext"]);
    expect(enableable({ ...list, items: [] }).map((e) => e.name)).toEqual(["citext", "pgaudit", "vector"]);
  });
  it("disables only allow-listed ones, never built-in plpgsql", () => {
    expect(mayDisable(list, "vector")).toBe(true);
    expect(mayDisable(list, "plpgsql")).toBe(false);
  });
});

describe("extensionsUnavailable", () => {
  it("explains a cluster that is not running, with the API's reason", () => {
    const why = extensionsUnavailable(problem(409, "the cluster is suspended"), "orders");
    expect(why?.title).toBe("Not running");
    expect(why?.message).toMatch(/once the cluster is running \(the cluster is suspended\)/);
  });
  it("explains a platform that cannot look inside clusters", () => {
    expect(extensionsUnavailable(problem(501), "orders")?.message).toMatch(/cannot look inside clusters/);
  });
  it("leaves other errors to be shown as errors", () => {
    expect(extensionsUnavailable(problem(404, "no database"), "orders")).toBeNull();
    expect(extensionsUnavailable(new TypeError("fetch failed"), "orders")).toBeNull();
  });
});
