// Backups of a cluster: whether they are healthy (last good backup, overdue), the window a
// restore can reach (and whether it comes from the repository or pgplane's records), what the
// pgBackRest repository holds, the recent backups, and (for roles that may) back up now and restore,
// each enabled as the server's `allowed_actions` says.
import { Alert, Badge, Group, SimpleGrid, Stack, Table, Text } from "@mantine/core";
import { useApi } from "../auth/AuthProvider";
import type { Cluster, Operation, Schemas } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { StatusBadge } from "../components/StatusBadge";
import { formatTime, relativeTime } from "../lib/time";
import { formatBytes } from "../lib/quantity";
import { BackupNowAction } from "./actions/BackupNowAction";
import { RestoreAction } from "./actions/RestoreAction";

const SHOWN = 5;
/** Repository backups listed, newest first. */
const REPOSITORY_SHOWN = 10;

type RepositoryBackup = Schemas["RepositoryBackup"];

/** Where the recoverable window was read from, for people. */
export function windowSourceLabel(source: string | null | undefined): string {
  return source === "repository" ? "from what the backup repository holds" : "from the backups pgplane saw finish";
}

/** The repository's backups newest first (pgBackRest lists them oldest first). */
export function newestFirst(backups: RepositoryBackup[]): RepositoryBackup[] {
  return [...backups].sort((a, b) => b.finished_at.localeCompare(a.finished_at) || b.label.localeCompare(a.label));
}

function RepositoryTable({ repository }: { repository: Schemas["RepositoryReport"] }) {
  const backups = newestFirst(repository.backups).slice(0, REPOSITORY_SHOWN);
  return (
    <Stack gap="xs" mt="md" data-testid="repository">
      <Group gap="xs">
        <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
          In the repository
        </Text>
        <Badge size="xs" variant="light" color={repository.status === "ok" ? "green" : "gray"}>
          {repository.status}
        </Badge>
        {repository.backup_running && (
          <Badge size="xs" variant="light" color="blue">
            backup running
          </Badge>
        )}
      </Group>
      {backups.length === 0 ? (
        <Text c="dimmed" size="sm">
          No backups in the repository yet.
        </Text>
      ) : (
        <Table.ScrollContainer
          minWidth={420}
          // Keyboard users can scroll it when it is narrower than the table.
          scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}
        >
          <Table verticalSpacing="xs" aria-label="Repository backups">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Backup</Table.Th>
                <Table.Th>Finished</Table.Th>
                <Table.Th>Database</Table.Th>
                <Table.Th>Stored</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {backups.map((backup) => (
                <Table.Tr key={`${backup.repo}/${backup.label}`}>
                  <Table.Td>
                    <Text size="sm" tt="capitalize">
                      {backup.type}
                    </Text>
                    <Text size="xs" c="dimmed" ff="monospace" style={{ wordBreak: "break-all" }}>
                      {backup.label}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatTime(backup.finished_at)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" style={{ whiteSpace: "nowrap" }}>
                      {formatBytes(backup.database_size_bytes)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" style={{ whiteSpace: "nowrap" }}>
                      {formatBytes(backup.repository_size_bytes)}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {repository.newest_wal && (
        <Text size="xs" c="dimmed">
          Newest archived WAL: <Text span size="xs" ff="monospace">{repository.newest_wal}</Text>
        </Text>
      )}
    </Stack>
  );
}

interface Props {
  tenant: string;
  cluster: Cluster;
  /** Whether the person's role may act on clusters at all (otherwise no action is shown). */
  mutate: boolean;
  /** While an operation runs on the cluster: read the backups more often. */
  busy: boolean;
  onStarted: (op: Operation) => void;
}

export function BackupsPanel({ tenant, cluster, mutate, busy, onStarted }: Props) {
  const $api = useApi();
  const backups = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters/{cluster}/backups",
    { params: { path: { tenant, cluster: cluster.name } } },
    { refetchInterval: busy ? 2_000 : 30_000 },
  );
  if (backups.isPending) return <Loading label="Loading backups" />;
  if (backups.error) return <ErrorAlert error={backups.error} />;
  const b = backups.data;
  const window = b.recoverable_window;
  return (
    <>
      {b.overdue && (
        <Alert color="orange" title="Backups are overdue" mb="md" role="status">
          No backup succeeded within the schedule{b.last_successful_backup_at ? ` since ${formatTime(b.last_successful_backup_at)}` : ""}. Take one now
          and check the latest failures below.
        </Alert>
      )}
      {b.repository_error && (
        <Alert color="yellow" title="The backup repository could not be read" mb="md" role="status">
          {b.repository_error}
          {b.window_source === "records" ? " The recoverable window below comes from the backups pgplane saw finish." : ""}
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }} mb="md">
        <div>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Last good backup
          </Text>
          <Text size="sm" data-testid="last-backup">
            {b.last_successful_backup_at ? relativeTime(b.last_successful_backup_at) : "none yet"}
          </Text>
        </div>
        <div>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Recoverable window
          </Text>
          <Text size="sm" data-testid="recoverable-window">
            {window ? `${formatTime(window.earliest)} – ${formatTime(window.latest)}` : "after the first full backup"}
          </Text>
          <Text size="xs" c="dimmed" data-testid="window-source">
            {windowSourceLabel(b.window_source)}
          </Text>
        </div>
      </SimpleGrid>
      {mutate && (
        <Group gap="sm" mb="md">
          <BackupNowAction tenant={tenant} cluster={cluster} onStarted={onStarted} />
          <RestoreAction tenant={tenant} cluster={cluster} onStarted={onStarted} recoverable={window} />
        </Group>
      )}
      {b.items.length === 0 ? (
        <Text c="dimmed" size="sm">
          No backups yet.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={420}>
          <Table verticalSpacing="xs" aria-label="Backups">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Started</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>State</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {b.items.slice(0, SHOWN).map((backup) => (
                <Table.Tr key={backup.id}>
                  <Table.Td>
                    <Text size="sm">{backup.started_at ? formatTime(backup.started_at) : "—"}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6}>
                      <Text size="sm" tt="capitalize">
                        {backup.type}
                      </Text>
                      <Badge size="xs" variant="outline" color="gray">
                        {backup.origin}
                      </Badge>
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge phase={backup.state} label={`${backup.type} backup`} />
                    {backup.error && (
                      <Text size="xs" c="red">
                        {backup.error}
                      </Text>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {b.repository && <RepositoryTable repository={b.repository} />}
    </>
  );
}
