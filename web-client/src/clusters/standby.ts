// Standbys: a cluster that follows another cluster of the tenant by streaming replication and is
// read-only until it is promoted. The API refuses (409) what would write to it or needs a primary
// of its own (backups, restore, clone from it, upgrades, extension changes, password rotation,
// switchover); the portal disables those with this reason instead of offering a button that fails.
import type { Cluster } from "../api/client";

/** The cluster a standby follows, or null for a normal (writable) cluster. */
export function standbySource(cluster: Cluster): string | null {
  return cluster.spec.standby?.source ?? null;
}

/** Why a day-2 action is off on this cluster because it is a standby, or null when it is not one. */
export function standbyRefusal(cluster: Cluster): string | null {
  const source = standbySource(cluster);
  return source ? `Not on a standby: ${cluster.name} follows ${source} read-only until it is promoted.` : null;
}

/** Clusters a new standby (or a clone) may start from: every cluster that is not itself a standby. */
export function standbySources(clusters: Cluster[]): Cluster[] {
  return clusters.filter((c) => !standbySource(c));
}
