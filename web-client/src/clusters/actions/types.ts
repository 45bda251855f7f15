import type { Cluster, Operation } from "../../api/client";

/**
 * What every cluster action gets: where it acts, and how to report the operation it started.
 * Whether it may act now comes from `cluster.allowed_actions` (see ../allowance.ts).
 */
export interface ActionProps {
  tenant: string;
  cluster: Cluster;
  /** Called with the operation the API answered 202 with. */
  onStarted: (operation: Operation) => void;
}
