import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AdvisorPanel, describeAction, forecastText, formatDuration, formatEvidence } from "./AdvisorPanel";
import type { Schemas } from "../api/client";
import { type Answer, fakeApi, json, problem, renderAt } from "../../test/render";
import { operation } from "../../test/fixtures";

type Insights = Schemas["InsightsOut"];

const at = { path: "/advisor", pattern: "/advisor" };
const INSIGHTS = "GET /v1/tenants/acme/clusters/orders/insights";
const FIRST_PAGE = `${INSIGHTS}?window=24h&order=total_time&page_size=20`;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

const statement = (queryid: number, query: string, total_ms: number, calls: number) => ({
  queryid,
  database: "orders",
  user: "orders",
  query,
  calls,
  total_ms,
  mean_ms: total_ms / calls,
  rows: calls * 2,
  blocks_read: 120,
  cache_hit_ratio: 0.985,
});

/** A cluster with two findings, a growing disk, connections and two statements. */
function insights(overrides: Partial<Insights> = {}): Insights {
  return {
    window: { seconds: 86_400, from: minutesAgo(24 * 60), to: minutesAgo(5) },
    last_attempt: { at: minutesAgo(5), error: null },
    findings: [
      {
        kind: "disk_full_soon",
        severity: "critical",
        database: null,
        object: null,
        title: "Storage fills in 4 days",
        why: "PostgreSQL stops accepting writes when its disk is full.",
        advice: "Grow the volume before then.",
        evidence: { bytes_now: 18 * 2 ** 30, capacity_bytes: 20 * 2 ** 30, days_left: 4.2 } as never,
        sql: null,
        action: { method: "PATCH", path: "", body: { storage: { size: "40Gi" } } as never },
      },
      {
        kind: "unused_index",
        severity: "warning",
        database: "orders",
        object: "public.orders_note_idx",
        title: "Index never used",
        why: "An unused index slows every write and takes space.",
        advice: "Drop it if nothing needs it.",
        evidence: { index_bytes: 1536 * 1024, scans: 0, observed_days: 14 } as never,
        sql: "DROP INDEX CONCURRENTLY public.orders_note_idx;",
        action: null,
      },
    ],
    storage: {
      bytes_now: 18 * 2 ** 30,
      capacity_bytes: 20 * 2 ** 30,
      bytes_per_day: 512 * 2 ** 20,
      days_left: 4.2,
      full_at: "2026-03-05T00:00:00Z",
      points: [
        { taken_at: minutesAgo(24 * 60), bytes: 17.5 * 2 ** 30 },
        { taken_at: minutesAgo(12 * 60), bytes: 17.8 * 2 ** 30 },
        { taken_at: minutesAgo(5), bytes: 18 * 2 ** 30 },
      ],
    },
    connections: {
      total: 42,
      max_connections: 100,
      by_state: { active: 5, idle: 30, "idle in transaction": 7 },
      waiting_on_locks: 2,
      longest_transactions: [
        { pid: 4242, database: "orders", user: "app", state: "idle in transaction", transaction_seconds: 3720, query: "UPDATE orders SET paid = true" },
      ] as never,
    },
    cache_hit_ratio: 0.9912,
    statements: {
      items: [
        statement(1, "SELECT * FROM orders WHERE customer_id = $1", 900, 300),
        statement(2, "INSERT INTO order_lines (order_id, sku) VALUES ($1, $2)", 450, 90),
      ],
      next_page_token: null,
    },
    ...overrides,
  };
}

function api(answer: Answer = insights(), overrides: Record<string, Answer> = {}) {
  return fakeApi({
    [INSIGHTS]: answer,
    "PATCH /v1/tenants/acme/clusters/orders": () => json(operation({ kind: "update" }), 202),
    ...overrides,
  });
}

const insightRequests = (seen: Request[]) => seen.filter((r) => r.method === "GET" && new URL(r.url).pathname.endsWith("/insights"));

describe("the advisor panel", () => {
  it("shows each finding with its severity, where it is, the evidence for people, and its SQL", async () => {
    api();
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const cards = await screen.findAllByTestId("finding");
    expect(cards).toHaveLength(2);
    // As the API sorted them: most severe first.
    expect(within(cards[0]!).getByText("critical")).toBeInTheDocument();
    expect(cards[0]).toHaveTextContent("Storage fills in 4 days");
    const unused = within(cards[1]!);
    expect(unused.getByText("warning")).toBeInTheDocument();
    expect(cards[1]).toHaveTextContent("public.orders_note_idx in orders");
    expect(cards[1]).toHaveTextContent("An unused index slows every write");
    expect(cards[1]).toHaveTextContent("Drop it if nothing needs it.");
    const evidence = unused.getByTestId("evidence");
    expect(evidence).toHaveTextContent("index bytes");
    expect(evidence).toHaveTextContent("1.5 MiB");
    expect(evidence).toHaveTextContent("observed days14");
    expect(unused.getByLabelText("SQL for Index never used")).toHaveTextContent("DROP INDEX CONCURRENTLY public.orders_note_idx;");
    expect(unused.getByRole("button", { name: "Copy SQL" })).toBeInTheDocument();
    // The finding without SQL has no copy button.
    expect(within(cards[0]!).queryByRole("button", { name: "Copy SQL" })).not.toBeInTheDocument();
    expect(screen.getByTestId("last-snapshot")).toHaveTextContent("Last snapshot 5 min ago");
  });

  it("applies a finding's suggested change with a merge patch of its body", async () => {
    const seen = api();
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Apply: grow storage to 40Gi" }));
    await waitFor(() => expect(seen.some((r) => r.method === "PATCH")).toBe(true));
    const patch = seen.find((r) => r.method === "PATCH")!;
    expect(new URL(patch.url).pathname).toBe("/v1/tenants/acme/clusters/orders");
    expect(patch.headers.get("Content-Type")).toBe("application/merge-patch+json");
    expect(await patch.json()).toEqual({ storage: { size: "40Gi" } });
    expect(await screen.findByText("Requested: grow storage to 40Gi.")).toBeInTheDocument();
  });

  it("says why the API refused a suggested change", async () => {
    api(insights(), {
      "PATCH /v1/tenants/acme/clusters/orders": () => problem(422, "storage.size cannot exceed the quota", [{ field: "storage.size", message: "over quota" }]),
    });
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Apply: grow storage to 40Gi" }));
    expect(await screen.findByText("Not applied")).toBeInTheDocument();
    expect(screen.getByText(/storage.size cannot exceed the quota: storage.size: over quota/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Apply: grow storage to 40Gi" })).toBeInTheDocument();
  });

  it("offers a viewer the findings but no change", async () => {
    const seen = api();
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange={false} />, at);
    expect(await screen.findAllByTestId("finding")).toHaveLength(2);
    expect(screen.queryByRole("button", { name: /^Apply/ })).not.toBeInTheDocument();
    // Copying SQL is not a change: a viewer may.
    expect(screen.getByRole("button", { name: "Copy SQL" })).toBeInTheDocument();
    expect(seen.some((r) => r.method === "PATCH")).toBe(false);
  });

  it("says when the last snapshot failed, and why", async () => {
    api(insights({ last_attempt: { at: minutesAgo(1), error: "cluster orders is suspended" } }));
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const failed = await screen.findByText("The last snapshot failed: cluster orders is suspended");
    expect(failed.closest("[role=alert]")).toHaveTextContent("pgplane tries again in 15 minutes");
  });

  it("explains an empty advisor before the first snapshot", async () => {
    api(
      insights({
        window: { seconds: 86_400, from: null, to: null },
        last_attempt: null,
        findings: [],
        storage: null,
        connections: null,
        cache_hit_ratio: null,
        statements: { items: [], next_page_token: null },
      }),
    );
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    expect(await screen.findByTestId("last-snapshot")).toHaveTextContent(
      "No snapshot yet: pgplane reads the cluster's statistics every 15 minutes.",
    );
    expect(screen.queryByTestId("finding")).not.toBeInTheDocument();
    expect(screen.queryByRole("table", { name: "Top statements" })).not.toBeInTheDocument();
    expect(screen.queryByRole("img")).not.toBeInTheDocument();
  });

  it("says there is nothing to fix when a snapshot found nothing", async () => {
    api(insights({ findings: [] }));
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    expect(await screen.findByTestId("no-findings")).toHaveTextContent("No findings: nothing to fix right now.");
  });

  it("charts storage with its forecast and shows connections and cache hits", async () => {
    api();
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const storage = await screen.findByRole("img", { name: /^Storage over the last 24 hours: from 17\.5 GiB to 18 GiB of 20 GiB; fills in 4 days/ });
    expect(storage.querySelector("polyline")).toBeInTheDocument();
    expect(screen.getByTestId("storage-forecast")).toHaveTextContent(/18 GiB of 20 GiB · \+512 MiB a day · fills in 4 days \(.*2026\)/);
    expect(screen.getByRole("img", { name: /Bar chart of the total execution time of the 2 statements/ }).querySelectorAll("rect")).toHaveLength(2);
    expect(screen.getByTestId("connections-in-use")).toHaveTextContent("42 of 100 connections in use");
    expect(screen.getByText("idle in transaction: 7")).toBeInTheDocument();
    expect(screen.getByText("2 waiting on locks")).toBeInTheDocument();
    expect(screen.getByTestId("cache-hit")).toHaveTextContent("99.1 %");
    const longest = screen.getByRole("table", { name: "Longest transactions" });
    expect(longest).toHaveTextContent("4242");
    expect(longest).toHaveTextContent("1 h 2 min");
  });

  it("lists the top statements, ranks them again on request, and loads more", async () => {
    const more = insights({ statements: { items: [statement(3, "DELETE FROM carts WHERE updated_at < $1", 20, 4)], next_page_token: null } });
    const seen = api(insights({ statements: { ...insights().statements, next_page_token: "bzoy" } }), {
      [`${INSIGHTS}?window=24h&order=total_time&page_size=20&page_token=bzoy`]: more,
      [`${INSIGHTS}?window=24h&order=calls&page_size=20`]: insights({
        statements: { items: [statement(2, "INSERT INTO order_lines (order_id, sku) VALUES ($1, $2)", 450, 900)], next_page_token: null },
      }),
    });
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const user = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Top statements" });
    let rows = table.querySelectorAll("tbody tr");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("SELECT * FROM orders WHERE customer_id = $1");
    expect(rows[0]).toHaveTextContent("300");
    expect(rows[0]).toHaveTextContent("900");
    expect(rows[0]).toHaveTextContent("98.5 %");
    expect(insightRequests(seen).map((r) => `GET ${new URL(r.url).pathname}${new URL(r.url).search}`)).toEqual([FIRST_PAGE]);

    await user.click(screen.getByRole("button", { name: "More" }));
    await waitFor(() => expect(screen.getByRole("table", { name: "Top statements" }).querySelectorAll("tbody tr")).toHaveLength(3));
    expect(screen.getByRole("table", { name: "Top statements" })).toHaveTextContent("DELETE FROM carts");
    expect(screen.queryByRole("button", { name: "More" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("radio", { name: "Calls" }));
    await waitFor(() => expect(insightRequests(seen).some((r) => new URL(r.url).searchParams.get("order") === "calls")).toBe(true));
    await waitFor(() => {
      rows = screen.getByRole("table", { name: "Top statements" }).querySelectorAll("tbody tr");
      expect(rows).toHaveLength(1);
    });
    expect(rows[0]).toHaveTextContent("INSERT INTO order_lines");
  });

  it("asks for another window", async () => {
    const seen = api();
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const user = userEvent.setup();
    await screen.findByRole("table", { name: "Top statements" });
    await user.click(screen.getByRole("radio", { name: "7 days" }));
    await waitFor(() => expect(insightRequests(seen).some((r) => new URL(r.url).searchParams.get("window") === "7d")).toBe(true));
  });

  it("shows why the insights could not be read", async () => {
    api(() => problem(404, "cluster orders not found"));
    renderAt(<AdvisorPanel tenant="acme" cluster="orders" canChange />, at);
    const error = await screen.findByText("cluster orders not found");
    expect(error.closest("[role=alert]")).toHaveTextContent("Insights could not be read");
  });
});

describe("advisor formatting", () => {
  it("formats evidence for people", () => {
    expect(formatEvidence("index_bytes", 3 * 2 ** 30)).toBe("3 GiB");
    expect(formatEvidence("replay_lag_seconds", 90)).toBe("1 min");
    expect(formatEvidence("scans", 0)).toBe("0");
    expect(formatEvidence("definition", "CREATE INDEX i ON t (a)")).toBe("CREATE INDEX i ON t (a)");
    expect(formatEvidence("by_state", { active: 3, idle: 1 })).toBe("active: 3, idle: 1");
    expect(formatEvidence("lag_bytes", null)).toBe("—");
  });

  it("says when storage fills, or that it does not grow", () => {
    expect(forecastText({ days_left: null, full_at: null })).toBe("not growing");
    expect(forecastText({ days_left: 0.4, full_at: null })).toBe("fills in less than a day");
    expect(forecastText({ days_left: 1.2, full_at: null })).toBe("fills in 1 day");
    expect(forecastText({ days_left: 12.6, full_at: "2026-03-05T12:00:00Z" })).toMatch(/^fills in 13 days \(.*2026\)$/);
  });

  it("describes suggested changes", () => {
    expect(describeAction({ method: "PATCH", path: "", body: { pooler: { enabled: true } } as never })).toBe("enable the connection pooler");
    expect(describeAction({ method: "PATCH", path: "", body: { storage: { size: "40Gi" } } as never })).toBe("grow storage to 40Gi");
    expect(describeAction({ method: "PATCH", path: "", body: { parameters: { work_mem: "64MB" } } as never })).toBe('set parameters.work_mem = "64MB"');
  });

  it("formats durations", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(3720)).toBe("1 h 2 min");
    expect(formatDuration(2 * 86_400 + 3 * 3600)).toBe("2 d 3 h");
  });
});
