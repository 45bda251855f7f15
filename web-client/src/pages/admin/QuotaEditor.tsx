// A platform admin sets one tenant's quota, seeing current usage beside each limit.
import { Button, Group, Modal, NumberInput, SimpleGrid, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../auth/AuthProvider";
import type { Schemas } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Loading } from "../../components/Loading";
import { fieldErrors } from "../../api/problem";

type QuotaIn = Schemas["QuotaIn"];
type QuotaOut = Schemas["QuotaOut"];

const LIMITS: { key: keyof QuotaIn; label: string; usage: keyof Schemas["ResourceUsage"] }[] = [
  { key: "max_clusters", label: "Clusters", usage: "clusters" },
  { key: "max_instances", label: "Instances", usage: "instances" },
  { key: "max_cpu_millis", label: "CPU (millicores)", usage: "cpu_millis" },
  { key: "max_memory_mib", label: "Memory (MiB)", usage: "memory_mib" },
  { key: "max_storage_gib", label: "Storage (GiB)", usage: "storage_gib" },
];

export function QuotaEditor({ tenant, onClose }: { tenant: string | null; onClose: () => void }) {
  const $api = useApi();
  const quota = $api.useQuery("get", "/v1/tenants/{tenant}/quota", { params: { path: { tenant: tenant ?? "" } } }, { enabled: !!tenant });
  return (
    <Modal opened={tenant !== null} onClose={onClose} title={`Quota of ${tenant ?? ""}`} size="lg">
      <ErrorAlert error={quota.error} title="Quota not loaded" />
      {/* Keyed by tenant: each tenant's form starts from its own limits and a clean save state. */}
      {tenant && quota.data && <QuotaForm key={tenant} tenant={tenant} quota={quota.data} onClose={onClose} />}
      {tenant && quota.isPending && <Loading label="Loading the quota" />}
    </Modal>
  );
}

function QuotaForm({ tenant, quota, onClose }: { tenant: string; quota: QuotaOut; onClose: () => void }) {
  const $api = useApi();
  const queryClient = useQueryClient();
  const put = $api.useMutation("put", "/v1/tenants/{tenant}/quota", { onSettled: () => queryClient.invalidateQueries() });
  const [values, setValues] = useState<QuotaIn>(() => limitsOf(quota));

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await put.mutateAsync({ params: { path: { tenant } }, body: values });
      notifications.show({ color: "green", message: `Quota of ${tenant} saved.` });
      onClose();
    } catch {
      // shown below
    }
  }

  const errors = fieldErrors(put.error);
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <Stack>
        <ErrorAlert error={put.error} title="Quota not saved" />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          {LIMITS.map(({ key, label, usage }) => (
            <NumberInput
              key={key}
              label={label}
              description={`In use: ${quota.usage[usage]}`}
              min={0}
              value={values[key]}
              onChange={(v) => setValues((q) => ({ ...q, [key]: Number(v) || 0 }))}
              error={errors[key]}
            />
          ))}
        </SimpleGrid>
        <Text size="sm" c="dimmed">
          Lowering a limit below what is in use blocks new clusters and growth; nothing running is removed.
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={put.isPending}>
            Save quota
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The editable limits of a quota (the answer also carries usage). */
function limitsOf({ max_clusters, max_instances, max_cpu_millis, max_memory_mib, max_storage_gib }: QuotaOut): QuotaIn {
  return { max_clusters, max_instances, max_cpu_millis, max_memory_mib, max_storage_gib };
}
