import type { Cluster, Operation } from "../../api/client";

/** What every cluster action gets: where it acts, and how to report the operation it started. */
export interface ActionProps {
  tenant: string;
  cluster: Cluster;
  /** Called with the operation the API answered 202 with. */
  onStarted: (operation: Operation) => void;
  /** True while another operation runs: the API would refuse a second one (409). */
  busy: boolean;
}
