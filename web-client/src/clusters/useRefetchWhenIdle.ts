// Reads something again as soon as the operations on a cluster have ended, rather than at the
// next (slower, once idle) poll: the server's answer about the cluster changes with them.
import { useEffect, useRef } from "react";

export function useRefetchWhenIdle(active: boolean, refetch: () => Promise<unknown>) {
  const wasActive = useRef(active);
  useEffect(() => {
    if (wasActive.current && !active) void refetch();
    wasActive.current = active;
  }, [active, refetch]);
}
