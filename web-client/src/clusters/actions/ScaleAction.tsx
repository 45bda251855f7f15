// Scale (instances) and resize (CPU, memory, storage) in one form; only changed fields are sent.
// The server allows each on its own: the form opens when either is allowed and locks the other.
import { Button, Group, Modal, NumberInput, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowsMaximize } from "@tabler/icons-react";
import { useState, type FormEvent } from "react";
import { fieldErrors, otherFieldErrors } from "../../api/problem";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Cluster } from "../../api/client";
import type { ActionProps } from "./types";
import { anyOf, controlProps, refusalOf } from "../allowance";
import { usePatchCluster, type ClusterPatch } from "./usePatchCluster";

interface Sizes {
  instances: number;
  cpu: string;
  memory: string;
  storage: string;
}

const sizesOf = (c: Cluster): Sizes => ({
  instances: c.spec.instances,
  cpu: c.spec.resources.cpu,
  memory: c.spec.resources.memory,
  storage: c.spec.storage.size,
});

/** The merge patch for what changed between `before` and `after` (empty when nothing did). */
export function scalePatch(before: Sizes, after: Sizes): ClusterPatch {
  const patch: ClusterPatch = {};
  if (after.instances !== before.instances) patch.instances = after.instances;
  const resources: { cpu?: string; memory?: string } = {};
  if (after.cpu.trim() !== before.cpu) resources.cpu = after.cpu.trim();
  if (after.memory.trim() !== before.memory) resources.memory = after.memory.trim();
  if (Object.keys(resources).length > 0) patch.resources = resources;
  if (after.storage.trim() !== before.storage) patch.storage = { size: after.storage.trim() };
  return patch;
}

const FIELDS = ["instances", "resources.cpu", "resources.memory", "storage.size"];

export function ScaleAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const [sizes, setSizes] = useState<Sizes>(() => sizesOf(cluster));
  const patch = usePatchCluster(tenant, cluster.name);
  const changes = scalePatch(sizesOf(cluster), sizes);
  const errors = fieldErrors(patch.error);
  const { scale, resize } = cluster.allowed_actions;
  const resizeRefused = refusalOf(resize);

  const start = () => {
    setSizes(sizesOf(cluster));
    patch.reset();
    open();
  };
  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      onStarted(await patch.patch(changes));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button variant="default" leftSection={<IconArrowsMaximize size={16} aria-hidden />} onClick={start} {...controlProps(anyOf(scale, resize))}>
        Scale / resize
      </Button>
      <Modal opened={opened} onClose={close} title={`Scale or resize ${cluster.name}`} size="lg">
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <ErrorAlert error={patch.error} title="Not changed" extra={otherFieldErrors(patch.error, FIELDS)} />
            <NumberInput
              label="Instances"
              description={refusalOf(scale) ?? "1, or 2-3 for high availability"}
              disabled={!scale.allowed}
              min={1}
              max={3}
              value={sizes.instances}
              onChange={(v) => setSizes((s) => ({ ...s, instances: Number(v) || 1 }))}
              error={errors.instances}
              w={200}
            />
            {resizeRefused && (
              <Text size="sm" c="dimmed" data-testid="resize-refused">
                {resizeRefused}
              </Text>
            )}
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              <TextInput
                label="CPU per instance"
                disabled={!resize.allowed}
                value={sizes.cpu}
                onChange={(e) => setSizes((s) => ({ ...s, cpu: e.currentTarget.value }))}
                error={errors["resources.cpu"]}
              />
              <TextInput
                label="Memory per instance"
                disabled={!resize.allowed}
                value={sizes.memory}
                onChange={(e) => setSizes((s) => ({ ...s, memory: e.currentTarget.value }))}
                error={errors["resources.memory"]}
              />
              <TextInput
                label="Storage per instance"
                disabled={!resize.allowed}
                description="Can grow, never shrink"
                value={sizes.storage}
                onChange={(e) => setSizes((s) => ({ ...s, storage: e.currentTarget.value }))}
                error={errors["storage.size"]}
              />
            </SimpleGrid>
            <Text size="sm" c="dimmed">
              Changing CPU or memory restarts instances one at a time; with high availability the database stays reachable.
            </Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={patch.isPending} disabled={Object.keys(changes).length === 0}>
                Apply changes
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
