// The cluster's PostgreSQL roles and the databases each may use. Owners, admins and developers
// add, edit and drop extra roles when the server allows `roles`; each change is an update
// operation of the cluster.
import { Badge, Button, Group, Modal, Stack, Table, TagsInput, Text, TextInput, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconUserPlus } from "@tabler/icons-react";
import { useState } from "react";
import { useApi } from "../auth/AuthProvider";
import type { Cluster, Operation, Schemas } from "../api/client";
import { fieldErrors, otherFieldErrors } from "../api/problem";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { useInvalidateAll } from "./actions/usePostAction";
import { controlProps } from "./allowance";

type Role = Schemas["RoleOut"];

interface Props {
  tenant: string;
  cluster: Cluster;
  /** Whether the person's role may act on clusters at all (otherwise no action is shown). */
  mutate: boolean;
  onStarted: (op: Operation) => void;
}

/** Errors of the role form by field: every `databases[i]` error shows under the databases input. */
export function roleFormErrors(error: unknown): { role?: string; databases?: string; options?: string; other: string[] } {
  const all = fieldErrors(error);
  const databases = Object.entries(all)
    .filter(([f]) => f === "databases" || f.startsWith("databases["))
    .map(([, m]) => m)
    .join("; ");
  const shown = Object.keys(all).filter((f) => f === "role" || f === "options" || f.startsWith("databases"));
  return { role: all.role, databases: databases || undefined, options: all.options, other: otherFieldErrors(error, shown) };
}

export function RolesPanel({ tenant, cluster, mutate, onStarted }: Props) {
  const $api = useApi();
  const path = { tenant, cluster: cluster.name };
  const roles = $api.useQuery("get", "/v1/tenants/{tenant}/clusters/{cluster}/users", { params: { path } });
  const invalidate = useInvalidateAll();
  const put = $api.useMutation("put", "/v1/tenants/{tenant}/clusters/{cluster}/users/{role}", { onSettled: invalidate });
  const drop = $api.useMutation("delete", "/v1/tenants/{tenant}/clusters/{cluster}/users/{role}", { onSettled: invalidate });
  const [opened, { open, close }] = useDisclosure(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [databases, setDatabases] = useState<string[]>([]);
  const [options, setOptions] = useState("");
  const [dropping, setDropping] = useState<string | null>(null);
  const errors = roleFormErrors(put.error);
  const allowance = controlProps(cluster.allowed_actions.roles);

  if (roles.isPending) return <Loading label="Loading roles" />;
  if (roles.error) return <ErrorAlert error={roles.error} />;

  function edit(role: Role | null) {
    put.reset();
    setEditing(role?.name ?? null);
    setName(role?.name ?? "");
    setDatabases(role?.databases ?? [cluster.spec.database]);
    setOptions(role?.options ?? "");
    open();
  }

  async function save() {
    try {
      const body = { databases, options: options.trim() || null };
      const answer = await put.mutateAsync({ params: { path: { ...path, role: name.trim() } }, body });
      if ("kind" in answer) onStarted(answer);
      close();
    } catch {
      // shown in the form
    }
  }

  async function confirmDrop() {
    if (!dropping) return;
    try {
      onStarted(await drop.mutateAsync({ params: { path: { ...path, role: dropping } } }));
      setDropping(null);
    } catch {
      // shown in the dialog
    }
  }

  return (
    <Stack gap="sm">
      <Table verticalSpacing="xs" aria-label="Roles">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Role</Table.Th>
            <Table.Th>Databases</Table.Th>
            <Table.Th>Options</Table.Th>
            {mutate && (
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            )}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {roles.data.items.map((role) => (
            <Table.Tr key={role.name}>
              <Table.Td>
                <Group gap={6}>
                  <Text size="sm" ff="monospace">
                    {role.name}
                  </Text>
                  {role.owner && <Badge size="xs" variant="light">owner</Badge>}
                </Group>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{role.databases.join(", ") || "—"}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c="dimmed">
                  {role.options ?? "—"}
                </Text>
              </Table.Td>
              {mutate && (
                <Table.Td>
                  {!role.owner && (
                    <Group gap={4} justify="flex-end" wrap="nowrap">
                      <Button size="compact-xs" variant="subtle" onClick={() => edit(role)} {...allowance} aria-label={`Edit role ${role.name}`}>
                        Edit
                      </Button>
                      <Button
                        size="compact-xs"
                        variant="subtle"
                        color="red"
                        onClick={() => {
                          drop.reset();
                          setDropping(role.name);
                        }}
                        {...allowance}
                        aria-label={`Drop role ${role.name}`}
                      >
                        Drop
                      </Button>
                    </Group>
                  )}
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {mutate && (
        <Group>
          <Button variant="default" size="xs" leftSection={<IconUserPlus size={14} aria-hidden />} onClick={() => edit(null)} {...allowance}>
            Add role
          </Button>
        </Group>
      )}
      <Modal opened={opened} onClose={close} title={editing ? `Edit role ${editing}` : "Add a role"}>
        <Stack>
          <ErrorAlert error={errors.role || errors.databases || errors.options ? null : put.error} title="Not saved" />
          {errors.other.length > 0 && <Text size="sm" c="red">{errors.other.join("; ")}</Text>}
          <TextInput
            label="Role name"
            description="Lowercase letters, digits and hyphens. Its password is generated; read it from the role's Secret or rotate it here."
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            disabled={editing !== null}
            error={errors.role}
            data-autofocus
          />
          <TagsInput
            label="Databases"
            description="Databases it may connect to and create objects in; missing ones are created. Press Enter after each."
            value={databases}
            onChange={setDatabases}
            error={errors.databases}
          />
          <TextInput
            label="Role options"
            description="Optional, e.g. NOCREATEDB CONNECTION LIMIT 10"
            value={options}
            onChange={(e) => setOptions(e.currentTarget.value)}
            error={errors.options}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void save()} loading={put.isPending} disabled={!name.trim()}>
              {editing ? "Save role" : "Add role"}
            </Button>
          </Group>
        </Stack>
      </Modal>
      <Modal opened={dropping !== null} onClose={() => setDropping(null)} title={`Drop role ${dropping ?? ""}`}>
        <Stack>
          <ErrorAlert error={drop.error} title="Not dropped" />
          <Text size="sm">
            Its credentials are no longer handed out. The operator leaves the role and the objects it owns in PostgreSQL.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDropping(null)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => void confirmDrop()} loading={drop.isPending}>
              Drop role
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
