// "Start from": an empty database, or a copy of another cluster of the tenant (its latest state
// or a point in time within its recoverable window), restored from that cluster's backups.
import { SegmentedControl, Select, Stack, Text, TextInput } from "@mantine/core";
import { useApi } from "../auth/AuthProvider";
import { formatTime } from "../lib/time";
import { fromLocalInput, toLocalInput } from "../lib/localTime";

interface Props {
  tenant: string;
  source: string | null;
  time: string | null;
  onChange: (source: string | null, time: string | null) => void;
  errors: Record<string, string>;
}

export function CloneSource({ tenant, source, time, onChange, errors }: Props) {
  const $api = useApi();
  const clusters = $api.useQuery("get", "/v1/tenants/{tenant}/clusters", { params: { path: { tenant }, query: { page_size: 500 } } });
  const backups = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters/{cluster}/backups",
    { params: { path: { tenant, cluster: source ?? "" } } },
    { enabled: !!source, retry: false },
  );
  const window = backups.data?.recoverable_window;
  const choices = (clusters.data?.items ?? []).filter((c) => c.spec.backups.enabled).map((c) => c.name);

  return (
    <Stack>
      <SegmentedControl
        aria-label="Start from"
        value={source === null ? "empty" : "clone"}
        onChange={(v) => onChange(v === "empty" ? null : (choices[0] ?? ""), null)}
        data={[
          { value: "empty", label: "An empty database" },
          { value: "clone", label: "A copy of a cluster" },
        ]}
      />
      {source !== null && (
        <>
          <Select
            label="Cluster to copy"
            description="Its data is restored from its backups; the cluster itself is not touched."
            data={choices}
            value={source || null}
            onChange={(v) => onChange(v, null)}
            allowDeselect={false}
            error={errors["source.cluster"] ?? errors.source}
            nothingFoundMessage="No cluster with backups"
          />
          {source && (
            <Text size="sm" c="dimmed" data-testid="clone-window">
              {window
                ? `Recoverable from ${formatTime(window.earliest)} to ${formatTime(window.latest)}.`
                : backups.isPending
                  ? "Loading its backups…"
                  : "It has no full backup yet, so it cannot be copied."}
            </Text>
          )}
          <TextInput
            label="Point in time (your local time)"
            description="Leave empty for its latest state."
            type="datetime-local"
            step={1}
            min={window ? toLocalInput(window.earliest) : undefined}
            max={window ? toLocalInput(window.latest) : undefined}
            value={time ? toLocalInput(time) : ""}
            onChange={(e) => onChange(source, fromLocalInput(e.currentTarget.value))}
            error={errors["source.target_time"]}
            w={280}
          />
        </>
      )}
    </Stack>
  );
}
