// Recent operations of a tenant (or one cluster), newest first, refreshed while any runs.
import { Anchor, Progress, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import type { Operation } from "../api/client";
import { StatusBadge } from "./StatusBadge";
import { kindLabel, operationProgress } from "./OperationTimeline";
import { relativeTime } from "../lib/time";

/** `compact` drops the cluster and progress columns, for narrow cards about one cluster. */
export function OperationsTable({ tenant, operations, compact = false }: { tenant: string; operations: Operation[]; compact?: boolean }) {
  if (operations.length === 0) return <Text c="dimmed">No operations yet.</Text>;
  return (
    <Table.ScrollContainer minWidth={compact ? 300 : 560}>
      <Table verticalSpacing="xs" striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Operation</Table.Th>
            {!compact && <Table.Th>Cluster</Table.Th>}
            <Table.Th>State</Table.Th>
            {!compact && <Table.Th w={140}>Progress</Table.Th>}
            <Table.Th>Started</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {operations.map((op) => (
            <Table.Tr key={op.id}>
              <Table.Td>{kindLabel(op.kind)}</Table.Td>
              {!compact && (
              <Table.Td>
                {op.cluster ? (
                  <Anchor component={Link} to={`/t/${tenant}/clusters/${op.cluster}`}>
                    {op.cluster}
                  </Anchor>
                ) : (
                  "—"
                )}
              </Table.Td>
              )}
              <Table.Td>
                <StatusBadge phase={op.state} label={`${op.kind} ${op.cluster ?? ""}`} />
                {op.state === "failed" && op.error && (
                  <Text size="xs" c="red" mt={2} lineClamp={2}>
                    {op.error}
                  </Text>
                )}
              </Table.Td>
              {!compact && (
              <Table.Td>
                <Progress
                  value={operationProgress(op)}
                  color={op.state === "failed" ? "red" : op.state === "succeeded" ? "green" : "blue"}
                  aria-label={`Progress ${operationProgress(op)}%`}
                />
              </Table.Td>
              )}
              <Table.Td>
                <Text size="sm" title={op.created_at}>
                  {relativeTime(op.created_at)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export const hasActive = (ops: Operation[] | undefined) =>
  (ops ?? []).some((op) => op.state === "pending" || op.state === "running");
