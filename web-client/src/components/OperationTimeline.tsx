// One operation's progress: its steps as a timeline, what it waits for, and how it ended.
import { Alert, Group, Progress, Stack, Text, Timeline } from "@mantine/core";
import { IconCheck, IconCircleDashed, IconLoader2, IconX } from "@tabler/icons-react";
import type { Operation } from "../api/client";
import { StatusBadge } from "./StatusBadge";
import { formatTime } from "../lib/time";

const STEP_LABELS: Record<string, string> = {
  queued: "Queued",
  applied: "Sent to Kubernetes",
  waiting_for_operator: "Operator rolling it out",
  done: "Done",
};

export function stepLabel(name: string): string {
  return STEP_LABELS[name] ?? name.replace(/_/g, " ");
}

function stepNote(step: Operation["steps"][number], failed: boolean): string {
  if (step.state === "done") return step.at ? formatTime(step.at) : "done";
  if (step.state === "current") return failed ? "stopped here" : "in progress";
  return "not yet";
}

/** Share of steps done, 0-100. A finished operation is 100 whatever its steps say. */
export function operationProgress(op: Operation): number {
  if (op.state === "succeeded" || op.state === "failed" || op.state === "cancelled") return 100;
  if (op.steps.length === 0) return 0;
  const done = op.steps.filter((s) => s.state === "done").length;
  return Math.round((done / op.steps.length) * 100);
}

const KIND_LABELS: Record<string, string> = {
  rotate_password: "Rotate password of",
  switchover: "Switchover of",
  extension: "Extension change in",
  minor_upgrade: "Minor version upgrade of",
  promote: "Promote standby",
};

/** "Update", "Backup", "Rotate password": an operation kind for people. */
export function kindLabel(kind: string): string {
  const words = kind.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A string parameter of the operation, if it has one. */
function param(op: Operation, key: string): string | undefined {
  const value = (op.params as Record<string, unknown> | null | undefined)?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** "Enable vector in orders", from an extension operation's params; null when they do not say. */
function extensionChange(op: Operation): string | null {
  const params = op.params as Record<string, unknown> | null | undefined;
  const name = param(op, "name");
  const database = param(op, "database");
  if (!name || !database || typeof params?.enable !== "boolean") return null;
  return `${params.enable ? "Enable" : "Disable"} ${name} in ${database}`;
}

export function operationTitle(op: Operation): string {
  if (op.kind === "extension") {
    const change = extensionChange(op);
    if (change) return op.cluster ? `${change} of ${op.cluster}` : change;
  }
  const what = KIND_LABELS[op.kind] ?? kindLabel(op.kind);
  return op.cluster ? `${what} ${op.cluster}` : what;
}

export function OperationTimeline({ op }: { op: Operation }) {
  const active = op.steps.findIndex((s) => s.state === "current");
  const lastDone = op.steps.reduce((acc, s, i) => (s.state === "done" ? i : acc), -1);
  const failed = op.state === "failed" || op.state === "cancelled";
  const progress = operationProgress(op);
  return (
    <Stack gap="sm" data-testid="operation-timeline" data-state={op.state}>
      <Group justify="space-between">
        <Text fw={600}>{operationTitle(op)}</Text>
        <StatusBadge phase={op.state} label="Operation" />
      </Group>
      <Progress
        value={progress}
        color={failed ? "red" : op.state === "succeeded" ? "green" : "blue"}
        animated={!failed && op.state !== "succeeded"}
        aria-label={`Operation progress ${progress}%`}
      />
      <Timeline active={active >= 0 ? active : lastDone} bulletSize={22} lineWidth={2}>
        {op.steps.map((step) => (
          <Timeline.Item
            key={step.name}
            title={stepLabel(step.name)}
            bullet={
              step.state === "done" ? (
                <IconCheck size={14} aria-hidden />
              ) : step.state === "current" ? (
                failed ? <IconX size={14} aria-hidden /> : <IconLoader2 size={14} aria-hidden />
              ) : (
                <IconCircleDashed size={14} aria-hidden />
              )
            }
          >
            <Text size="xs" c="dimmed">
              {stepNote(step, failed)}
            </Text>
          </Timeline.Item>
        ))}
      </Timeline>
      {op.waiting_for && op.state === "running" && (
        <Text size="sm" c="dimmed">
          Waiting for: {op.waiting_for}
        </Text>
      )}
      {op.state === "succeeded" && (
        <Alert color="green" title="Finished" role="status">
          {operationTitle(op)} succeeded{op.finished_at ? ` at ${formatTime(op.finished_at)}` : ""}.
        </Alert>
      )}
      {failed && (
        <Alert color="red" title={op.state === "cancelled" ? "Cancelled" : "Failed"} role="alert">
          {op.error ?? "The operation did not finish."}
        </Alert>
      )}
    </Stack>
  );
}
