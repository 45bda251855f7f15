// Edit the cluster's postgresql.conf overrides. Removed names are sent as null (merge patch).
import { ActionIcon, Button, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAdjustments, IconPlus, IconTrash } from "@tabler/icons-react";
import { useState, type FormEvent } from "react";
import { fieldErrors, otherFieldErrors } from "../../api/problem";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { ActionProps } from "./types";
import { controlProps } from "../allowance";
import { usePatchCluster } from "./usePatchCluster";

type Row = { name: string; value: string };

/** Merge patch of `parameters`: changed and new names with their value, removed ones as null. */
export function parametersPatch(before: Record<string, string>, rows: Row[]): Record<string, string | null> {
  const after = new Map(rows.filter((r) => r.name.trim()).map((r) => [r.name.trim(), r.value.trim()]));
  const patch: Record<string, string | null> = {};
  for (const name of Object.keys(before)) if (!after.has(name)) patch[name] = null;
  for (const [name, value] of after) if (before[name] !== value) patch[name] = value;
  return patch;
}

export function ParametersAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const current = cluster.spec.parameters;
  const [rows, setRows] = useState<Row[]>([]);
  const patch = usePatchCluster(tenant, cluster.name);
  const changes = parametersPatch(current, rows);
  const errors = fieldErrors(patch.error);
  const rowError = (name: string) => errors[`parameters.${name.trim()}`];

  const start = () => {
    setRows(Object.entries(current).map(([name, value]) => ({ name, value })));
    patch.reset();
    open();
  };
  const update = (i: number, row: Partial<Row>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...row } : r)));

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      onStarted(await patch.patch({ parameters: changes as Record<string, string> }));
      close();
    } catch {
      // shown below
    }
  }

  const shown = rows.map((r) => `parameters.${r.name.trim()}`);
  return (
    <>
      <Button variant="default" leftSection={<IconAdjustments size={16} aria-hidden />} onClick={start} {...controlProps(cluster.allowed_actions.parameters)}>
        Parameters
      </Button>
      <Modal opened={opened} onClose={close} title={`PostgreSQL parameters of ${cluster.name}`} size="lg">
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <Text size="sm" c="dimmed">
              Overrides of postgresql.conf. Settings derived from the instance size apply unless you override them here.
            </Text>
            <ErrorAlert error={patch.error} title="Not changed" extra={otherFieldErrors(patch.error, shown)} />
            {rows.length === 0 && <Text size="sm">No overrides.</Text>}
            {rows.map((row, i) => (
              <Group key={i} align="flex-start" wrap="nowrap">
                <TextInput
                  label="Name"
                  placeholder="max_connections"
                  value={row.name}
                  onChange={(e) => update(i, { name: e.currentTarget.value })}
                  error={rowError(row.name)}
                  style={{ flex: 1 }}
                />
                <TextInput
                  label="Value"
                  value={row.value}
                  onChange={(e) => update(i, { value: e.currentTarget.value })}
                  style={{ flex: 1 }}
                />
                <ActionIcon
                  mt={26}
                  variant="subtle"
                  color="red"
                  size="lg"
                  aria-label={`Remove ${row.name || "parameter"}`}
                  onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
                >
                  <IconTrash size={16} aria-hidden />
                </ActionIcon>
              </Group>
            ))}
            <Group justify="space-between">
              <Button
                variant="subtle"
                leftSection={<IconPlus size={16} aria-hidden />}
                onClick={() => setRows((rs) => [...rs, { name: "", value: "" }])}
              >
                Add parameter
              </Button>
              <Group>
                <Button variant="default" onClick={close}>
                  Cancel
                </Button>
                <Button type="submit" loading={patch.isPending} disabled={Object.keys(changes).length === 0}>
                  Apply
                </Button>
              </Group>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
