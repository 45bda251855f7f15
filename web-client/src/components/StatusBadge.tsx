// A cluster phase or operation state as a coloured badge with a text label (never colour alone).
import { Badge, Loader } from "@mantine/core";

const PHASE_COLORS: Record<string, string> = {
  ready: "green",
  succeeded: "green",
  pending: "gray",
  provisioning: "blue",
  running: "blue",
  updating: "blue",
  deleting: "orange",
  suspended: "gray",
  degraded: "yellow",
  failed: "red",
  cancelled: "gray",
};

const IN_PROGRESS = new Set(["pending", "provisioning", "running", "updating", "deleting"]);

export function isInProgress(phase: string): boolean {
  return IN_PROGRESS.has(phase);
}

export function StatusBadge({ phase, label }: { phase: string; label?: string }) {
  const color = PHASE_COLORS[phase] ?? "gray";
  return (
    <Badge
      color={color}
      variant="light"
      leftSection={isInProgress(phase) ? <Loader size={10} color={color} aria-hidden /> : undefined}
      aria-label={label ? `${label}: ${phase}` : `Status: ${phase}`}
      data-phase={phase}
    >
      {phase}
    </Badge>
  );
}
