// The virtual DBA of a cluster: what pgplane's collector found in its statistics snapshots
// (findings with their evidence, the SQL to run and, where pgplane has an operation for it, a
// button that makes the change), the storage forecast, connections, cache hits and the top
// statements over a window. Read from the snapshots: looking never touches the cluster.
import {
  ActionIcon,
  Alert,
  Badge,
  Box,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  Loader,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCheck, IconCopy, IconTool } from "@tabler/icons-react";
import { keepPreviousData, useQueries } from "@tanstack/react-query";
import { useState } from "react";
import { useApi } from "../auth/AuthProvider";
import type { Schemas } from "../api/client";
import { describeError, otherFieldErrors } from "../api/problem";
import type { operations } from "../api/schema";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { operationTitle } from "../components/OperationTimeline";
import { formatBytes } from "../lib/quantity";
import { formatTime, relativeTime } from "../lib/time";
import { usePatchCluster } from "./actions/usePatchCluster";

type Insights = Schemas["InsightsOut"];
type Finding = Schemas["Finding"];
type Severity = Schemas["Severity"];
type SuggestedAction = Schemas["SuggestedAction"];
type StatementStats = Schemas["StatementStats"];
type Forecast = Schemas["Forecast"];
type Connections = Schemas["ConnectionsOut"];
export type StatementOrder = NonNullable<NonNullable<operations["clusters.insights.get"]["parameters"]["query"]>["order"]>;

/** One open transaction of `ConnectionsOut.longest_transactions`. */
export type OpenTransaction = Schemas["TransactionOut"];

const INSIGHTS = "/v1/tenants/{tenant}/clusters/{cluster}/insights";
export const PAGE_SIZE = 20;
/** Snapshots come every 15 minutes: reading more often than every few minutes shows nothing new. */
const REFRESH_MS = 5 * 60_000;
const BARS = 10;

export const WINDOWS = [
  { value: "1h", label: "1 h", words: "the last hour" },
  { value: "24h", label: "24 h", words: "the last 24 hours" },
  { value: "7d", label: "7 days", words: "the last 7 days" },
  { value: "30d", label: "30 days", words: "the last 30 days" },
] as const;
type Range = (typeof WINDOWS)[number]["value"];

const ORDERS: { value: StatementOrder; label: string }[] = [
  { value: "total_time", label: "Total time" },
  { value: "mean_time", label: "Mean time" },
  { value: "calls", label: "Calls" },
  { value: "io", label: "I/O" },
];

const SEVERITY_COLORS: Record<Severity, string> = { critical: "red", warning: "orange", info: "blue" };

// ---- Formatting --------------------------------------------------------------------------------

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function formatNumber(value: number, digits = 1): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: digits });
}

/** A share (0..1) as a percentage, "—" when unknown. */
export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? "—" : `${formatNumber(ratio * 100)} %`;
}

/** "45 s", "12 min", "3 h 5 min", "2 d 3 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
  return `${Math.floor(s / 86_400)} d${s % 86_400 >= 3600 ? ` ${Math.floor((s % 86_400) / 3600)} h` : ""}`;
}

/** One evidence value for people: sizes in KiB/MiB/GiB, durations, nested counts inline. */
export function formatEvidence(key: string, value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    if (key.endsWith("_bytes")) return formatBytes(value);
    if (key.endsWith("_seconds")) return formatDuration(value);
    return formatNumber(value, 2);
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((v) => formatEvidence(key, v)).join(", ");
  if (isRecord(value)) {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${formatEvidence(k, v)}`)
      .join(", ");
  }
  return JSON.stringify(value);
}

/** The first characters of a statement on one line, for labels. */
export function queryStart(query: string, length = 34): string {
  const line = query.replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

/** "fills in 12 days (Mar 3, 2026)", or "not growing" when it does not grow. */
export function forecastText(forecast: Pick<Forecast, "days_left" | "full_at">): string {
  const days = forecast.days_left;
  if (days === null || days === undefined) return "not growing";
  const when = forecast.full_at ? ` (${new Date(forecast.full_at).toLocaleDateString(undefined, { dateStyle: "medium" })})` : "";
  if (days < 1) return `fills in less than a day${when}`;
  const n = Math.round(days);
  return `fills in ${n} ${n === 1 ? "day" : "days"}${when}`;
}

/** What a suggested change does, for its button: "enable the connection pooler". */
export function describeAction(action: SuggestedAction): string {
  const body: unknown = action.body;
  if (isRecord(body)) {
    const { pooler, storage } = body;
    if (isRecord(pooler) && pooler.enabled === true && Object.keys(body).length === 1) return "enable the connection pooler";
    if (isRecord(storage) && typeof storage.size === "string" && Object.keys(body).length === 1) return `grow storage to ${storage.size}`;
  }
  // Anything else: the fields it sets, `pooler.enabled = true`.
  const leaves: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    else leaves.push(`${path} = ${JSON.stringify(value)}`);
  };
  walk(body, "");
  return `set ${leaves.join(", ")}`;
}

/** Only merge patches of the cluster itself are what the portal knows how to send. */
const canSend = (action: SuggestedAction) => action.method.toUpperCase() === "PATCH" && action.path === "";

// ---- Charts (plain SVG: no chart library for two small pictures) ---------------------------

const CHART_W = 600;

function StorageChart({ forecast, words }: { forecast: Forecast; words: string }) {
  const points = forecast.points
    .map((p) => ({ t: Date.parse(p.taken_at), bytes: p.bytes }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
  if (points.length < 2) return null;
  const h = 140;
  const pad = 10;
  const first = points[0]!.t;
  const span = Math.max(1, points[points.length - 1]!.t - first);
  const top = Math.max(1, forecast.capacity_bytes, ...points.map((p) => p.bytes));
  const x = (t: number) => pad + ((t - first) / span) * (CHART_W - 2 * pad);
  const y = (bytes: number) => h - pad - (bytes / top) * (h - 2 * pad);
  const capacityY = y(forecast.capacity_bytes);
  return (
    <svg
      role="img"
      aria-label={`Storage over ${words}: from ${formatBytes(points[0]!.bytes)} to ${formatBytes(forecast.bytes_now)} of ${formatBytes(forecast.capacity_bytes)}; ${forecastText(forecast)}`}
      viewBox={`0 0 ${CHART_W} ${h}`}
      style={{ width: "100%", height: "auto", display: "block" }}
    >
      <line x1={pad} x2={CHART_W - pad} y1={h - pad} y2={h - pad} stroke="var(--mantine-color-gray-4)" />
      <line x1={pad} x2={CHART_W - pad} y1={capacityY} y2={capacityY} stroke="var(--mantine-color-red-7)" strokeDasharray="6 4" />
      <text x={CHART_W - pad} y={capacityY + 14} textAnchor="end" fontSize={12} fill="var(--mantine-color-red-9)">
        capacity {formatBytes(forecast.capacity_bytes)}
      </text>
      <polyline
        fill="none"
        stroke="var(--mantine-color-blue-7)"
        strokeWidth={2}
        strokeLinejoin="round"
        points={points.map((p) => `${x(p.t).toFixed(1)},${y(p.bytes).toFixed(1)}`).join(" ")}
      />
    </svg>
  );
}

function StatementTimeChart({ statements }: { statements: StatementStats[] }) {
  const top = [...statements].sort((a, b) => b.total_ms - a.total_ms).slice(0, BARS);
  if (top.length === 0) return null;
  const row = 22;
  const labelW = 250;
  const valueW = 90;
  const most = Math.max(1, ...top.map((s) => s.total_ms));
  const barW = (ms: number) => Math.max(1, (ms / most) * (CHART_W - labelW - valueW));
  return (
    <svg
      role="img"
      aria-label={`Bar chart of the total execution time of the ${top.length} statements with the most time; the table below lists them`}
      viewBox={`0 0 ${CHART_W} ${top.length * row}`}
      style={{ width: "100%", height: "auto", display: "block" }}
    >
      {top.map((s, i) => (
        <g key={`${i}-${s.queryid}`} transform={`translate(0 ${i * row})`}>
          <title>{`${s.query}: ${formatNumber(s.total_ms)} ms`}</title>
          <text x={0} y={row / 2 + 4} fontSize={11} fontFamily="monospace" fill="var(--mantine-color-text)">
            {queryStart(s.query)}
          </text>
          <rect x={labelW} y={3} width={barW(s.total_ms)} height={row - 6} rx={2} fill="var(--mantine-color-blue-7)" />
          <text x={labelW + barW(s.total_ms) + 6} y={row / 2 + 4} fontSize={11} fill="var(--mantine-color-dimmed)">
            {formatNumber(s.total_ms, 0)} ms
          </text>
        </g>
      ))}
    </svg>
  );
}

// ---- Findings ----------------------------------------------------------------------------------

function ApplyButton({ tenant, cluster, action }: { tenant: string; cluster: string; action: SuggestedAction }) {
  const patch = usePatchCluster(tenant, cluster);
  const what = describeAction(action);
  async function apply() {
    try {
      // A merge patch of the cluster, as the finding says (the spec types it as any object).
      const op = await patch.patch(action.body);
      notifications.show({ color: "blue", title: `${operationTitle(op)} started`, message: "Progress is shown on this page." });
    } catch (err) {
      // The body is the server's, not a form's: its field errors are said with the reason.
      const fields = otherFieldErrors(err, []);
      const message = fields.length > 0 ? `${describeError(err)}: ${fields.join("; ")}` : describeError(err);
      notifications.show({ color: "red", title: "Not applied", message });
    }
  }
  if (patch.isSuccess) {
    return (
      <Text size="sm" c="dimmed" role="status">
        Requested: {what}.
      </Text>
    );
  }
  return (
    <Button size="xs" variant="light" leftSection={<IconTool size={14} aria-hidden />} loading={patch.isPending} onClick={() => void apply()}>
      Apply: {what}
    </Button>
  );
}

function Evidence({ evidence }: { evidence: unknown }) {
  const entries = isRecord(evidence) ? Object.entries(evidence) : [];
  if (entries.length === 0) return null;
  return (
    <Box component="dl" m={0} style={{ display: "flex", flexWrap: "wrap", gap: "var(--mantine-spacing-md)" }} data-testid="evidence">
      {entries.map(([key, value]) => (
        <div key={key}>
          <Text component="dt" size="xs" c="dimmed">
            {key.replaceAll("_", " ")}
          </Text>
          <Text component="dd" size="sm" m={0} ff="monospace">
            {formatEvidence(key, value)}
          </Text>
        </div>
      ))}
    </Box>
  );
}

function FindingCard({ finding, tenant, cluster, canChange }: { finding: Finding; tenant: string; cluster: string; canChange: boolean }) {
  const where = [finding.object, finding.database && `in ${finding.database}`].filter(Boolean).join(" ");
  return (
    <Card withBorder padding="md" component="article" aria-label={finding.title} data-testid="finding">
      <Stack gap="xs">
        <Group gap="xs" wrap="nowrap" align="flex-start">
          <Badge color={SEVERITY_COLORS[finding.severity]} variant="light" style={{ flexShrink: 0 }}>
            {finding.severity}
          </Badge>
          <Title order={4} size="h6">
            {finding.title}
          </Title>
        </Group>
        {where && (
          <Text size="xs" c="dimmed" ff="monospace">
            {where}
          </Text>
        )}
        <Text size="sm">{finding.why}</Text>
        <Text size="sm">
          <Text span fw={600} size="sm">
            What to do:{" "}
          </Text>
          {finding.advice}
        </Text>
        <Evidence evidence={finding.evidence} />
        {finding.sql && (
          <Group gap="xs" wrap="nowrap" align="flex-start">
            <Code block style={{ flex: 1, minWidth: 0, overflowX: "auto" }} aria-label={`SQL for ${finding.title}`} tabIndex={0}>
              {finding.sql}
            </Code>
            <CopyButton value={finding.sql} timeout={2000}>
              {({ copied, copy }) => (
                <Tooltip label={copied ? "Copied" : "Copy SQL"} withArrow>
                  <ActionIcon variant="light" color={copied ? "teal" : "gray"} onClick={copy} aria-label={copied ? "SQL copied" : "Copy SQL"}>
                    {copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
                  </ActionIcon>
                </Tooltip>
              )}
            </CopyButton>
          </Group>
        )}
        {finding.action && canChange && canSend(finding.action) && (
          <Group>
            <ApplyButton tenant={tenant} cluster={cluster} action={finding.action} />
          </Group>
        )}
      </Stack>
    </Card>
  );
}

// ---- Connections -------------------------------------------------------------------------------

function ConnectionsSummary({ connections, cacheHit }: { connections: Connections | null | undefined; cacheHit: number | null | undefined }) {
  const longest: OpenTransaction[] = connections?.longest_transactions ?? [];
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Connections
      </Title>
      {connections ? (
        <>
          <Text size="sm" data-testid="connections-in-use">
            {connections.total} of {connections.max_connections} connections in use
          </Text>
          <Group gap={6}>
            {Object.entries(connections.by_state).map(([state, n]) => (
              <Badge key={state} variant="light" color="gray" tt="none">
                {state}: {n}
              </Badge>
            ))}
            {connections.waiting_on_locks > 0 && (
              <Badge variant="light" color="orange" tt="none">
                {connections.waiting_on_locks} waiting on locks
              </Badge>
            )}
          </Group>
        </>
      ) : (
        <Text size="sm" c="dimmed">
          Shown after the first snapshot.
        </Text>
      )}
      <Text size="sm" data-testid="cache-hit">
        Cache hit ratio:{" "}
        <Text span fw={600} size="sm">
          {formatPercent(cacheHit)}
        </Text>
      </Text>
      {longest.length > 0 && (
        <Table.ScrollContainer minWidth={520} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
          <Table verticalSpacing={4} fz="sm" aria-label="Longest transactions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>PID</Table.Th>
                <Table.Th>Database</Table.Th>
                <Table.Th>User</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Open for</Table.Th>
                <Table.Th>Query</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {longest.map((t) => (
                <Table.Tr key={t.pid}>
                  <Table.Td>{t.pid}</Table.Td>
                  <Table.Td>{t.database}</Table.Td>
                  <Table.Td>{t.user}</Table.Td>
                  <Table.Td>{t.state}</Table.Td>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDuration(t.transaction_seconds)}</Table.Td>
                  <Table.Td>
                    <Text size="xs" ff="monospace" lineClamp={2} maw={320}>
                      {t.query}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

// ---- Statements --------------------------------------------------------------------------------

function StatementsTable({ statements }: { statements: StatementStats[] }) {
  const num = { style: { textAlign: "right", whiteSpace: "nowrap" } } as const;
  return (
    <Table.ScrollContainer minWidth={760} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
      <Table verticalSpacing="xs" fz="sm" aria-label="Top statements">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Query</Table.Th>
            <Table.Th {...num}>Calls</Table.Th>
            <Table.Th {...num}>Total ms</Table.Th>
            <Table.Th {...num}>Mean ms</Table.Th>
            <Table.Th {...num}>Rows</Table.Th>
            <Table.Th {...num}>Blocks read</Table.Th>
            <Table.Th {...num}>Cache hit</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {statements.map((s, i) => (
            <Table.Tr key={`${i}-${s.queryid}`}>
              <Table.Td>
                {/* Clamped on screen; the whole text stays in the page for screen readers and the tooltip. */}
                <Tooltip label={s.query} multiline w={480} openDelay={300} withArrow>
                  <Text size="xs" ff="monospace" lineClamp={2} maw={380} style={{ wordBreak: "break-word" }}>
                    {s.query}
                  </Text>
                </Tooltip>
                <Text size="xs" c="dimmed">
                  {s.database} · {s.user}
                </Text>
              </Table.Td>
              <Table.Td {...num}>{formatNumber(s.calls, 0)}</Table.Td>
              <Table.Td {...num}>{formatNumber(s.total_ms)}</Table.Td>
              <Table.Td {...num}>{formatNumber(s.mean_ms, 2)}</Table.Td>
              <Table.Td {...num}>{formatNumber(s.rows, 0)}</Table.Td>
              <Table.Td {...num}>{formatNumber(s.blocks_read, 0)}</Table.Td>
              <Table.Td {...num}>{formatPercent(s.cache_hit_ratio)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

// ---- The panel ---------------------------------------------------------------------------------

function LastSnapshot({ insights }: { insights: Insights }) {
  const newest = insights.window.to;
  const attempt = insights.last_attempt;
  return (
    <>
      <Text size="sm" c="dimmed" data-testid="last-snapshot">
        {newest ? (
          <>
            Last snapshot <span title={formatTime(newest)}>{relativeTime(newest)}</span>
          </>
        ) : attempt ? (
          "No snapshot in this window."
        ) : (
          "No snapshot yet: pgplane reads the cluster's statistics every 15 minutes."
        )}
      </Text>
      {attempt?.error && (
        <Alert color="red" title={`The last snapshot failed: ${attempt.error}`} role="alert">
          At {formatTime(attempt.at)}. What is shown comes from the snapshots before it; pgplane tries again in 15 minutes.
        </Alert>
      )}
    </>
  );
}

export function AdvisorPanel({ tenant, cluster, canChange }: { tenant: string; cluster: string; canChange: boolean }) {
  const $api = useApi();
  const [range, setRange] = useState<Range>("24h");
  const [order, setOrder] = useState<StatementOrder>("total_time");
  // Tokens of the statement pages loaded after the first (by "More"), in order.
  const [tokens, setTokens] = useState<string[]>([]);
  const path = { tenant, cluster };
  const query = { window: range, order, page_size: PAGE_SIZE };
  const insights = $api.useQuery(
    "get",
    INSIGHTS,
    { params: { path, query } },
    // Keeps the panel in place while another window or order loads.
    { refetchInterval: REFRESH_MS, placeholderData: keepPreviousData },
  );
  const more = useQueries({
    queries: tokens.map((page_token) => $api.queryOptions("get", INSIGHTS, { params: { path, query: { ...query, page_token } } })),
  });

  if (insights.isPending) return <Loading label="Loading insights" />;
  if (insights.error && !insights.data) return <ErrorAlert error={insights.error} title="Insights could not be read" />;
  const data = insights.data;
  const words = WINDOWS.find((w) => w.value === range)?.words ?? range;
  const hasSnapshot = !!data.window.to;
  const statements = [...data.statements.items, ...more.flatMap((page) => page.data?.statements.items ?? [])];
  const last = more[more.length - 1];
  const nextToken = last ? last.data?.statements.next_page_token : data.statements.next_page_token;

  return (
    <Stack gap="lg">
      <Group justify="space-between" align="center">
        <SegmentedControl<Range>
          aria-label="Window"
          size="xs"
          value={range}
          onChange={(v) => {
            setRange(v);
            setTokens([]);
          }}
          data={WINDOWS.map(({ value, label }) => ({ value, label }))}
        />
        <Group gap="xs">
          {insights.isFetching && <Loader size="xs" aria-label="Refreshing insights" />}
          <LastSnapshot insights={data} />
        </Group>
      </Group>
      <ErrorAlert error={insights.error} title="Insights could not be refreshed" />

      <section aria-labelledby="advisor-findings">
        <Title order={3} size="h5" mb="xs" id="advisor-findings">
          Findings
        </Title>
        {data.findings.length > 0 ? (
          <Stack gap="sm">
            {data.findings.map((f, i) => (
              <FindingCard key={`${f.kind}-${f.database ?? ""}-${f.object ?? ""}-${i}`} finding={f} tenant={tenant} cluster={cluster} canChange={canChange} />
            ))}
          </Stack>
        ) : (
          <Text size="sm" c="dimmed" data-testid="no-findings">
            {hasSnapshot ? "No findings: nothing to fix right now." : "Findings show after the first snapshot."}
          </Text>
        )}
      </section>

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Stack gap="xs">
          <Title order={3} size="h5">
            Storage
          </Title>
          {data.storage ? (
            <>
              <StorageChart forecast={data.storage} words={words} />
              <Text size="sm" data-testid="storage-forecast">
                {formatBytes(data.storage.bytes_now)} of {formatBytes(data.storage.capacity_bytes)}
                {data.storage.bytes_per_day > 0 ? ` · +${formatBytes(data.storage.bytes_per_day)} a day` : ""} · {forecastText(data.storage)}
              </Text>
            </>
          ) : (
            <Text size="sm" c="dimmed">
              The forecast needs two snapshots in the window.
            </Text>
          )}
        </Stack>
        <ConnectionsSummary connections={data.connections} cacheHit={data.cache_hit_ratio} />
      </SimpleGrid>

      <section aria-labelledby="advisor-statements">
        <Group justify="space-between" mb="xs">
          <Title order={3} size="h5" id="advisor-statements">
            Top statements
          </Title>
          <SegmentedControl<StatementOrder>
            aria-label="Rank statements by"
            size="xs"
            value={order}
            onChange={(v) => {
              setOrder(v);
              setTokens([]);
            }}
            data={ORDERS}
          />
        </Group>
        {statements.length === 0 ? (
          <Text size="sm" c="dimmed">
            No statements recorded in {words}.
          </Text>
        ) : (
          <Stack gap="sm">
            <StatementTimeChart statements={data.statements.items} />
            <StatementsTable statements={statements} />
            <ErrorAlert error={more.find((page) => page.error)?.error} title="More statements could not be read" />
            {last?.isPending ? (
              <Loading label="Loading more statements" />
            ) : (
              nextToken && (
                <Group justify="center">
                  <Button variant="default" size="xs" onClick={() => setTokens((t) => [...t, nextToken])}>
                    More
                  </Button>
                </Group>
              )
            )}
          </Stack>
        )}
      </section>
    </Stack>
  );
}
