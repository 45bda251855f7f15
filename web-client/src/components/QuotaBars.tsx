// Quota usage as labelled bars; optionally with what a pending request would add (headroom).
import { Group, Progress, Stack, Text } from "@mantine/core";
import type { Quota } from "../api/client";
import { formatCpu, formatGib, formatMib, type Usage } from "../lib/quantity";

interface Row {
  key: keyof Usage;
  label: string;
  used: number;
  max: number;
  format: (n: number) => string;
}

export function quotaRows(quota: Quota): Row[] {
  const u = quota.usage;
  return [
    { key: "clusters", label: "Clusters", used: u.clusters, max: quota.max_clusters, format: String },
    { key: "instances", label: "Instances", used: u.instances, max: quota.max_instances, format: String },
    { key: "cpu_millis", label: "CPU", used: u.cpu_millis, max: quota.max_cpu_millis, format: formatCpu },
    { key: "memory_mib", label: "Memory", used: u.memory_mib, max: quota.max_memory_mib, format: formatMib },
    { key: "storage_gib", label: "Storage", used: u.storage_gib, max: quota.max_storage_gib, format: formatGib },
  ];
}

/** Limits a request would exceed, by label. */
export function exceededBy(quota: Quota, extra: Usage): string[] {
  return quotaRows(quota)
    .filter((row) => row.used + extra[row.key] > row.max)
    .map((row) => row.label);
}

const percent = (n: number, max: number) => (max <= 0 ? 100 : Math.min(100, (n / max) * 100));

export function QuotaBars({ quota, extra }: { quota: Quota; extra?: Usage }) {
  return (
    <Stack gap="sm">
      {quotaRows(quota).map((row) => {
        const adding = extra ? extra[row.key] : 0;
        const after = row.used + adding;
        const over = after > row.max;
        const usedPct = percent(row.used, row.max);
        const addPct = Math.min(100 - usedPct, percent(adding, row.max));
        const text = extra
          ? `${row.format(row.used)} + ${row.format(adding)} of ${row.format(row.max)}`
          : `${row.format(row.used)} of ${row.format(row.max)}`;
        return (
          <div key={row.key} data-testid={`quota-${row.key}`}>
            <Group justify="space-between" mb={4}>
              <Text size="sm" fw={500} id={`quota-${row.key}-label`}>
                {row.label}
              </Text>
              <Text size="sm" c={over ? "red" : "dimmed"}>
                {text}
                {over && " — over quota"}
              </Text>
            </Group>
            <Progress.Root size="lg" aria-labelledby={`quota-${row.key}-label`}>
              <Progress.Section
                value={usedPct}
                color={usedPct >= 90 ? "orange" : "blue"}
                aria-label={`${row.label} used: ${text}`}
              />
              {extra && adding > 0 && (
                <Progress.Section value={addPct} color={over ? "red" : "teal"} aria-label={`${row.label} this request adds`} />
              )}
            </Progress.Root>
          </div>
        );
      })}
    </Stack>
  );
}
