// PostgreSQL extensions in one database of the cluster: what is installed (read live from the
// primary), and, for roles that may change the cluster, enabling an allow-listed extension or
// disabling one when the server allows `extensions`. Each change is an `extension` operation.
import { Alert, Badge, Button, Group, Modal, Select, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import { IconPuzzle } from "@tabler/icons-react";
import { useEffect, useRef, useState } from "react";
import { useApi } from "../auth/AuthProvider";
import type { Cluster, ExtensionName, Operation, Schemas } from "../api/client";
import { isProblem } from "../api/problem";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { useInvalidateAll } from "./actions/usePostAction";
import { refusalOf } from "./allowance";

type ExtensionList = Schemas["ExtensionList"];
type AllowedExtension = Schemas["AllowedExtension"];

interface Props {
  tenant: string;
  cluster: Cluster;
  /** Whether the person's role may act on clusters at all (otherwise no action is shown). */
  mutate: boolean;
  /** While an operation runs on the cluster: read the extensions more often, and again when it ends. */
  busy: boolean;
  onStarted: (op: Operation) => void;
}

/** The cluster's databases: its own first, then every role's, each once, in order. */
export function clusterDatabases(cluster: Cluster): string[] {
  const out = [cluster.spec.database];
  for (const user of cluster.spec.users ?? []) {
    for (const db of user.databases ?? []) if (!out.includes(db)) out.push(db);
  }
  return out;
}

/** Allow-listed extensions not installed yet: what may be enabled. */
export function enableable(list: ExtensionList): AllowedExtension[] {
  const installed = new Set(list.items.map((e) => e.name));
  return list.allowed.filter((a) => !installed.has(a.name));
}

/** Whether an installed extension may be disabled here: only allow-listed ones (never plpgsql). */
export function mayDisable(list: ExtensionList, name: string): boolean {
  return list.allowed.some((a) => a.name === name);
}

/**
 * Why the extensions cannot be read just now, for a person, when the API says it is not an
 * error of the request: 409 (the cluster is not running) or 501 (the platform cannot look
 * inside clusters). Null for other errors, which show as errors.
 */
export function extensionsUnavailable(error: unknown, clusterName: string): { title: string; message: string } | null {
  if (!isProblem(error)) return null;
  if (error.status === 409) {
    return {
      title: "Not running",
      message: `Extensions are read from ${clusterName}'s primary, so they show once the cluster is running${error.detail ? ` (${error.detail})` : ""}.`,
    };
  }
  if (error.status === 501) {
    return {
      title: "Not available here",
      message: "This platform cannot look inside clusters, so extensions cannot be listed or changed from the portal.",
    };
  }
  return null;
}

function useEnableExtension() {
  return useApi().useMutation("put", "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}", {
    onSettled: useInvalidateAll(),
  });
}

function useDisableExtension() {
  return useApi().useMutation("delete", "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}", {
    onSettled: useInvalidateAll(),
  });
}

export function ExtensionsPanel({ tenant, cluster, mutate, busy, onStarted }: Props) {
  const $api = useApi();
  const databases = clusterDatabases(cluster);
  const [database, setDatabase] = useState(databases[0] ?? "");
  const shown = databases.includes(database) ? database : (databases[0] ?? "");
  const path = { tenant, cluster: cluster.name, database: shown };
  const list = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions",
    { params: { path } },
    { retry: false, refetchInterval: busy ? 2_000 : 30_000 },
  );
  // An extension operation changes the database after its 202: read again when it ends, and
  // when the cluster's phase changes (a cluster that was not running may be now).
  const { refetch } = list;
  const seen = useRef({ busy, phase: cluster.status.phase });
  useEffect(() => {
    const before = seen.current;
    seen.current = { busy, phase: cluster.status.phase };
    if ((before.busy && !busy) || before.phase !== cluster.status.phase) void refetch();
  }, [busy, cluster.status.phase, refetch]);

  const enable = useEnableExtension();
  const disable = useDisableExtension();
  const [chosen, setChosen] = useState<string | null>(null);
  const [disabling, setDisabling] = useState<string | null>(null);

  const choices = list.data ? enableable(list.data) : [];
  const chosenExtension = choices.find((c) => c.name === chosen) ?? null;
  const unavailable = extensionsUnavailable(list.error, cluster.name);
  const refused = refusalOf(cluster.allowed_actions.extensions);

  async function enableChosen() {
    if (!chosenExtension) return;
    try {
      onStarted(await enable.mutateAsync({ params: { path: { ...path, extension: chosenExtension.name as ExtensionName } } }));
      setChosen(null);
    } catch {
      // shown below the picker
    }
  }

  async function confirmDisable() {
    if (!disabling) return;
    try {
      onStarted(await disable.mutateAsync({ params: { path: { ...path, extension: disabling as ExtensionName } } }));
      setDisabling(null);
    } catch {
      // shown in the dialog
    }
  }

  return (
    <Stack gap="sm">
      <Select
        label="Database"
        data={databases}
        value={shown}
        onChange={(v) => {
          if (!v) return;
          setDatabase(v);
          setChosen(null);
          enable.reset();
        }}
        allowDeselect={false}
        maw={320}
      />
      {list.isPending && !list.error ? (
        <Loading label="Loading extensions" />
      ) : unavailable ? (
        <Alert color="gray" title={unavailable.title} role="status" data-testid="extensions-unavailable">
          {unavailable.message}
        </Alert>
      ) : list.error ? (
        <ErrorAlert error={list.error} title="Extensions could not be read" />
      ) : list.data ? (
        <>
          <Table verticalSpacing="xs" aria-label="Extensions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Extension</Table.Th>
                <Table.Th>Version</Table.Th>
                {mutate && (
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.items.map((ext) => (
                <Table.Tr key={ext.name}>
                  <Table.Td>
                    <Group gap={6}>
                      <Text size="sm" ff="monospace">
                        {ext.name}
                      </Text>
                      {!mayDisable(list.data, ext.name) && (
                        <Badge size="xs" variant="light" color="gray">
                          built in
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{ext.version}</Text>
                  </Table.Td>
                  {mutate && (
                    <Table.Td>
                      {mayDisable(list.data, ext.name) && (
                        <Group justify="flex-end">
                          <Button
                            size="compact-xs"
                            variant="subtle"
                            color="red"
                            onClick={() => {
                              disable.reset();
                              setDisabling(ext.name);
                            }}
                            disabled={!!refused}
                            title={refused}
                            aria-label={`Disable extension ${ext.name}`}
                          >
                            Disable
                          </Button>
                        </Group>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {/* Said once here rather than only in each button's tooltip (the rows share it). */}
          {mutate && refused && (
            <Text size="sm" c="dimmed" data-testid="extensions-refused">
              {refused}
            </Text>
          )}
          {mutate &&
            (choices.length === 0 ? (
              <Text size="sm" c="dimmed">
                Every extension the platform allows is enabled in {shown}.
              </Text>
            ) : (
              <Stack gap="xs">
                <Group align="flex-end" gap="sm">
                  <Select
                    label="Enable an extension"
                    placeholder="Choose one"
                    data={choices.map((c) => ({ value: c.name, label: c.name }))}
                    value={chosen}
                    onChange={(v) => {
                      setChosen(v);
                      enable.reset();
                    }}
                    renderOption={({ option }) => (
                      <div>
                        <Text size="sm" ff="monospace">
                          {option.label}
                        </Text>
                        <Text size="xs" c="dimmed">
                          {choices.find((c) => c.name === option.value)?.description}
                        </Text>
                      </div>
                    )}
                    searchable
                    maw={320}
                    style={{ flex: 1 }}
                  />
                  <Button
                    variant="default"
                    leftSection={<IconPuzzle size={16} aria-hidden />}
                    onClick={() => void enableChosen()}
                    loading={enable.isPending}
                    disabled={!chosenExtension || !!refused}
                    title={refused}
                  >
                    Enable
                  </Button>
                </Group>
                {chosenExtension && (
                  <Text size="xs" c="dimmed" data-testid="extension-description">
                    {chosenExtension.description}
                  </Text>
                )}
                <ErrorAlert error={enable.error} title="Not enabled" />
              </Stack>
            ))}
        </>
      ) : null}
      <Modal opened={disabling !== null} onClose={() => setDisabling(null)} title={`Disable ${disabling ?? ""} in ${shown}`}>
        <Stack>
          <ErrorAlert error={disable.error} title="Not disabled" />
          <Text size="sm">
            Drops the extension from {shown}. Nothing that depends on it is dropped with it: if a table or function
            still uses it, the operation fails and names what does.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDisabling(null)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => void confirmDisable()} loading={disable.isPending}>
              Disable extension
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
