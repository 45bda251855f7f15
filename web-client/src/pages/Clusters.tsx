// The tenant's clusters with live status: the list refreshes every few seconds in place, and
// can be narrowed by name and by phase.
import { Anchor, Badge, Button, Card, Group, Select, Table, Text, TextInput } from "@mantine/core";
import { IconPlus, IconSearch } from "@tabler/icons-react";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { useRole } from "../auth/me";
import { can } from "../lib/permissions";
import { PageHeader } from "../components/PageHeader";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import type { Cluster } from "../api/client";
import { standbySource } from "../clusters/standby";

/** How often the list asks for fresh status (ms). */
export const CLUSTER_POLL_MS = 3_000;

const PHASES = ["ready", "provisioning", "updating", "pending", "degraded", "suspended", "deleting", "failed"];

export function filterClusters(clusters: Cluster[], search: string, phase: string | null): Cluster[] {
  const needle = search.trim().toLowerCase();
  return clusters.filter(
    (c) => (!needle || c.name.toLowerCase().includes(needle)) && (!phase || c.status.phase === phase),
  );
}

function instancesText(c: Cluster): string {
  const ready = c.status.ready_instances;
  return ready == null ? `${c.spec.instances}` : `${ready} / ${c.spec.instances} ready`;
}

export function Clusters() {
  const { tenant = "" } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const [search, setSearch] = useState("");
  const [phase, setPhase] = useState<string | null>(null);
  const list = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters",
    { params: { path: { tenant }, query: { page_size: 500 } } },
    { refetchInterval: CLUSTER_POLL_MS },
  );
  const shown = useMemo(() => filterClusters(list.data?.items ?? [], search, phase), [list.data, search, phase]);

  return (
    <>
      <PageHeader
        title="Clusters"
        description="PostgreSQL clusters of this tenant. Status refreshes automatically."
        actions={
          can(role, "manage_clusters") && (
            <Button component={Link} to={`/t/${tenant}/clusters/new`} leftSection={<IconPlus size={16} aria-hidden />}>
              New cluster
            </Button>
          )
        }
      />
      <Card withBorder padding="md">
        <Group mb="md" gap="sm" role="search" aria-label="Filter clusters">
          <TextInput
            aria-label="Search clusters by name"
            placeholder="Search by name"
            leftSection={<IconSearch size={16} aria-hidden />}
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            style={{ flex: 1, minWidth: 180 }}
          />
          <Select
            aria-label="Filter by status"
            placeholder="Any status"
            data={PHASES}
            value={phase}
            onChange={setPhase}
            clearable
            w={180}
          />
        </Group>
        {list.error && <ErrorAlert error={list.error} />}
        {list.isPending ? (
          <Loading />
        ) : shown.length === 0 ? (
          <Text c="dimmed" py="lg" ta="center">
            {(list.data?.items.length ?? 0) === 0 ? "No clusters yet." : "No cluster matches the filter."}
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="sm" highlightOnHover aria-label="Clusters">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Instances</Table.Th>
                  <Table.Th>Size per instance</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.map((c) => (
                  <Table.Tr key={c.id} data-testid={`cluster-row-${c.name}`}>
                    <Table.Td>
                      <Anchor component={Link} to={`/t/${tenant}/clusters/${c.name}`} fw={600}>
                        {c.name}
                      </Anchor>
                      {standbySource(c) && (
                        <Badge size="xs" variant="light" color="violet" ml={6}>
                          standby of {standbySource(c)}
                        </Badge>
                      )}
                      {c.site === "recovery" && (
                        <Badge size="xs" variant="outline" color="indigo" ml={6}>
                          recovery site
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge phase={c.status.phase} label={c.name} />
                    </Table.Td>
                    <Table.Td>PostgreSQL {c.spec.postgres_version}</Table.Td>
                    <Table.Td>{instancesText(c)}</Table.Td>
                    <Table.Td>
                      {c.spec.resources.cpu} CPU · {c.spec.resources.memory} · {c.spec.storage.size}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </>
  );
}
