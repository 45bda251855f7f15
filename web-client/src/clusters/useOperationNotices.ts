// Tells the person when an operation they are watching ends, wherever they scrolled to.
import { notifications } from "@mantine/notifications";
import { useEffect, useRef } from "react";
import type { Operation } from "../api/client";
import { operationTitle } from "../components/OperationTimeline";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export function useOperationNotices(operations: Operation[] | undefined) {
  const seen = useRef(new Map<string, string>());
  useEffect(() => {
    for (const op of operations ?? []) {
      const before = seen.current.get(op.id);
      seen.current.set(op.id, op.state);
      if (before && !FINAL.has(before) && FINAL.has(op.state)) {
        notifications.show({
          color: op.state === "succeeded" ? "green" : "red",
          title: `${operationTitle(op)} ${op.state}`,
          message: op.state === "succeeded" ? "Done." : (op.error ?? "The operation did not finish."),
          autoClose: op.state === "succeeded" ? 5000 : false,
        });
      }
    }
  }, [operations]);
}
