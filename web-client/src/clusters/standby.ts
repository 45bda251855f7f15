// Standbys: a cluster that follows another cluster of the tenant by streaming replication and is
// read-only until it is promoted. What a standby may do is the server's answer
// (`allowed_actions`, see allowance.ts); this only says which cluster it follows.
import type { Cluster } from "../api/client";

/** The cluster a standby follows, or null for a normal (writable) cluster. */
export function standbySource(cluster: Cluster): string | null {
  return cluster.spec.standby?.source ?? null;
}
