// The audit log of a tenant (owners/admins) or of the whole platform (platform admins),
// newest first, filtered by action, outcome and time, a page at a time.
import { Badge, Button, Card, Group, Select, Table, Text, TextInput } from "@mantine/core";
import { useState } from "react";
import { useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { PageHeader } from "../components/PageHeader";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { formatTime } from "../lib/time";

const PAGE_SIZE = 25;
const OUTCOME_COLORS: Record<string, string> = { allowed: "green", denied: "orange", failed: "red" };
/** The outcomes the API's `outcome` filter takes (an enum in the spec). */
const OUTCOMES = ["allowed", "denied", "failed"] as const;
export type AuditOutcome = (typeof OUTCOMES)[number];

export interface AuditFilters {
  action: string;
  outcome: AuditOutcome | null;
  since: string;
  until: string;
}

/** Query parameters for the filters (dates as RFC 3339, empty filters left out). */
export function auditQuery(filters: AuditFilters, pageToken: string | undefined) {
  const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
  return {
    page_size: PAGE_SIZE,
    page_token: pageToken,
    action: filters.action.trim() || undefined,
    outcome: filters.outcome ?? undefined,
    since: toIso(filters.since),
    until: toIso(filters.until),
  };
}

export function AuditLog() {
  const { tenant } = useParams();
  const $api = useApi();
  const [filters, setFilters] = useState<AuditFilters>({ action: "", outcome: null, since: "", until: "" });
  const [pages, setPages] = useState<string[]>([]);
  const query = auditQuery(filters, pages[pages.length - 1]);
  const tenantLog = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/audit-events",
    { params: { path: { tenant: tenant ?? "" }, query } },
    { enabled: !!tenant },
  );
  const platformLog = $api.useQuery("get", "/v1/audit-events", { params: { query } }, { enabled: !tenant });
  const log = tenant ? tenantLog : platformLog;
  const setFilter = <K extends keyof AuditFilters>(key: K, value: AuditFilters[K]) => {
    setPages([]);
    setFilters((f) => ({ ...f, [key]: value }));
  };

  return (
    <>
      <PageHeader
        title={tenant ? "Audit log" : "Platform audit log"}
        description={tenant ? `Every change in ${tenant}, allowed or refused.` : "Every change on the platform, allowed or refused."}
      />
      <Card withBorder padding="md">
        <Group mb="md" gap="sm" align="flex-end" role="search" aria-label="Filter audit events">
          <TextInput
            label="Action"
            placeholder="e.g. clusters.create"
            value={filters.action}
            onChange={(e) => setFilter("action", e.currentTarget.value)}
            w={220}
          />
          <Select
            label="Outcome"
            placeholder="Any"
            data={[...OUTCOMES]}
            value={filters.outcome}
            onChange={(v) => setFilter("outcome", OUTCOMES.find((o) => o === v) ?? null)}
            clearable
            w={150}
          />
          <TextInput
            label="From"
            type="datetime-local"
            value={filters.since}
            onChange={(e) => setFilter("since", e.currentTarget.value)}
            w={210}
          />
          <TextInput
            label="Until"
            type="datetime-local"
            value={filters.until}
            onChange={(e) => setFilter("until", e.currentTarget.value)}
            w={210}
          />
        </Group>
        {log.error && <ErrorAlert error={log.error} />}
        {log.isPending ? (
          <Loading />
        ) : (log.data?.items.length ?? 0) === 0 ? (
          <Text c="dimmed" ta="center" py="lg">
            No events match.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table verticalSpacing="xs" striped aria-label="Audit events">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Who</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  {!tenant && <Table.Th>Tenant</Table.Th>}
                  <Table.Th>Outcome</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {log.data?.items.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td style={{ whiteSpace: "nowrap" }}>
                      <Text size="sm">{formatTime(e.occurred_at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{e.actor_label ?? e.actor_type}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {e.action}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" style={{ wordBreak: "break-all" }}>
                        {e.target}
                      </Text>
                    </Table.Td>
                    {!tenant && <Table.Td>{e.tenant_name ?? "—"}</Table.Td>}
                    <Table.Td style={{ whiteSpace: "nowrap" }}>
                      <Badge color={OUTCOME_COLORS[e.outcome] ?? "gray"} variant="light">
                        {e.outcome}
                      </Badge>{" "}
                      <Text span size="xs" c="dimmed">
                        {e.status_code}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <Group justify="flex-end" mt="md">
          <Button variant="default" disabled={pages.length === 0} onClick={() => setPages([])}>
            Newest
          </Button>
          <Button
            variant="default"
            disabled={!log.data?.next_page_token}
            onClick={() => {
              const next = log.data?.next_page_token;
              if (next) setPages((p) => [...p, next]);
            }}
          >
            Older
          </Button>
        </Group>
      </Card>
    </>
  );
}
