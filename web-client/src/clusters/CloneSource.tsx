// "Start from": an empty database, a copy of another cluster of the tenant (its latest state or a
// point in time within its recoverable window, restored from that cluster's backups), or a
// standby of another cluster (a read-only copy that follows it by streaming replication until it
// is promoted). A clone and a standby exclude each other. Which clusters can be copied or
// followed is the server's answer (`allowed_actions.clone` / `.create_standby` of each).
import { SegmentedControl, Select, Stack, Text, TextInput, type ComboboxItem } from "@mantine/core";
import { useApi } from "../auth/AuthProvider";
import { formatTime } from "../lib/time";
import { fromLocalInput, toLocalInput } from "../lib/localTime";
import type { Cluster } from "../api/client";
import type { CreateForm } from "./presets";
import { refusalOf } from "./allowance";

/** Where a new cluster starts from, as the create form holds it; `version` follows a standby's source. */
export type Start = Pick<CreateForm, "cloneFrom" | "cloneTime" | "standbyOf"> & { version?: number };

type Mode = "empty" | "clone" | "standby";

interface Props {
  tenant: string;
  source: string | null;
  time: string | null;
  standby: string | null;
  onChange: (start: Start) => void;
  errors: Record<string, string>;
}

/** A cluster a new one could start from, and why the server refuses it (then it is not offered). */
export interface SourceChoice {
  value: string;
  label: string;
  disabled: boolean;
  reason?: string;
}

/** Every cluster as a source for `action`: offered when the server allows it, else shown with why not. */
export function sourceChoices(clusters: Cluster[], action: "clone" | "create_standby"): SourceChoice[] {
  return clusters.map((c) => {
    const reason = refusalOf(c.allowed_actions[action]);
    return { value: c.name, label: c.name, disabled: reason !== undefined, reason };
  });
}

/** Renders a source in the picker's list: its name, and under a refused one the server's reason. */
const renderSource =
  (choices: SourceChoice[]) =>
  ({ option }: { option: ComboboxItem }) => {
    const reason = choices.find((c) => c.value === option.value)?.reason;
    return (
      <div>
        <Text size="sm">{option.label}</Text>
        {reason && (
          <Text size="xs" c="dimmed">
            {reason}
          </Text>
        )}
      </div>
    );
  };

export function CloneSource({ tenant, source, time, standby, onChange, errors }: Props) {
  const $api = useApi();
  const clusters = $api.useQuery("get", "/v1/tenants/{tenant}/clusters", { params: { path: { tenant }, query: { page_size: 500 } } });
  const backups = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters/{cluster}/backups",
    { params: { path: { tenant, cluster: source ?? "" } } },
    { enabled: !!source, retry: false },
  );
  const window = backups.data?.recoverable_window;
  const all: Cluster[] = clusters.data?.items ?? [];
  const clones = sourceChoices(all, "clone");
  const followable = sourceChoices(all, "create_standby");
  const mode: Mode = standby !== null ? "standby" : source !== null ? "clone" : "empty";
  const versionOf = (name: string | null) => all.find((c) => c.name === name)?.spec.postgres_version;
  const follow = (name: string) => onChange({ cloneFrom: null, cloneTime: null, standbyOf: name, version: versionOf(name) });

  function choose(next: Mode) {
    if (next === "empty") onChange({ cloneFrom: null, cloneTime: null, standbyOf: null });
    if (next === "clone") onChange({ cloneFrom: clones.find((c) => !c.disabled)?.value ?? "", cloneTime: null, standbyOf: null });
    if (next === "standby") follow(followable.find((c) => !c.disabled)?.value ?? "");
  }

  return (
    <Stack>
      <SegmentedControl
        aria-label="Start from"
        value={mode}
        onChange={(v) => choose(v)}
        data={[
          { value: "empty", label: "An empty database" },
          { value: "clone", label: "A copy of a cluster" },
          { value: "standby", label: "A standby of a cluster" },
        ]}
      />
      {mode === "standby" && (
        <>
          <Text size="sm" c="dimmed" data-testid="standby-explanation">
            A read-only copy that follows the cluster by streaming replication. Promote it to take over.
          </Text>
          <Select
            label="Cluster to follow"
            description="The standby runs its PostgreSQL version; the cluster itself is not touched."
            data={followable}
            value={standby || null}
            onChange={(v) => v && follow(v)}
            allowDeselect={false}
            error={errors["standby.source"] ?? errors.standby}
            renderOption={renderSource(followable)}
            nothingFoundMessage="No cluster to follow"
          />
        </>
      )}
      {mode === "clone" && (
        <>
          <Select
            label="Cluster to copy"
            description="Its data is restored from its backups; the cluster itself is not touched."
            data={clones}
            value={source || null}
            onChange={(v) => onChange({ cloneFrom: v, cloneTime: null, standbyOf: null })}
            allowDeselect={false}
            error={errors["source.cluster"] ?? errors.source}
            renderOption={renderSource(clones)}
            nothingFoundMessage="No cluster to copy"
          />
          {source && (
            <Text size="sm" c="dimmed" data-testid="clone-window">
              {window
                ? `Recoverable from ${formatTime(window.earliest)} to ${formatTime(window.latest)}.`
                : backups.isPending
                  ? "Loading its backups…"
                  : (clones.find((c) => c.value === source)?.reason ?? "It has no recoverable window yet.")}
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
            onChange={(e) => onChange({ cloneFrom: source, cloneTime: fromLocalInput(e.currentTarget.value), standbyOf: null })}
            error={errors["source.target_time"]}
            w={280}
          />
        </>
      )}
    </Stack>
  );
}
