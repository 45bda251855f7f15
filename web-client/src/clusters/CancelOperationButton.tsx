// Cancels an operation no worker has picked up yet (its change is undone). Once one runs, the
// API refuses (409) and says why; the button is offered only while it is pending.
import { Button } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { useApi } from "../auth/AuthProvider";
import { describeError } from "../api/problem";
import type { Operation } from "../api/client";
import { operationTitle } from "../components/OperationTimeline";

export function CancelOperationButton({ op }: { op: Operation }) {
  const $api = useApi();
  const queryClient = useQueryClient();
  const cancel = $api.useMutation("post", "/v1/operations/{id}/cancel", {
    onSettled: () => queryClient.invalidateQueries(),
  });
  if (op.state !== "pending") return null;

  async function cancelIt() {
    try {
      await cancel.mutateAsync({ params: { path: { id: op.id } } });
    } catch (err) {
      notifications.show({ color: "red", title: "Not cancelled", message: describeError(err) });
    }
  }

  return (
    <Button
      variant="subtle"
      color="red"
      size="xs"
      loading={cancel.isPending}
      onClick={() => void cancelIt()}
    >
      Cancel {operationTitle(op).toLowerCase()}
    </Button>
  );
}
