import type { Cluster, Operation, Quota } from "../src/api/client";
import type { ActionName } from "../src/clusters/allowance";

// Every action once (`satisfies` fails the type-check when the API adds or drops one).
const ACTIONS = Object.keys({
  update: 0, scale: 0, resize: 0, suspend: 0, resume: 0, parameters: 0, roles: 0, extensions: 0, backup: 0,
  restore: 0, clone: 0, switchover: 0, upgrade: 0, minor_upgrade: 0, rotate_password: 0, create_standby: 0,
  promote: 0, delete: 0,
} satisfies Record<ActionName, 0>) as ActionName[];

/** Refused actions, each with the server's reason. */
export type Refusals = Partial<Record<ActionName, string>>;

/** The server's `allowed_actions`: everything allowed but what is `refused`. */
export function allowedActions(refused: Refusals = {}): Cluster["allowed_actions"] {
  const entries = ACTIONS.map((action) => {
    const reason = refused[action];
    return [action, reason === undefined ? { allowed: true } : { allowed: false, reason }];
  });
  return Object.fromEntries(entries) as Cluster["allowed_actions"];
}

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    id: "c1",
    tenant_id: "t1",
    name: "orders",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    site: "home",
    spec: {
      name: "orders",
      postgres_version: 18,
      instances: 2,
      resources: { cpu: "1", memory: "2Gi" },
      storage: { size: "20Gi", class: null },
      backups: { enabled: true, retention_full: 4, schedules: { full: "0 1 * * 0", differential: null, incremental: "0 1 * * 1-6" } },
      pooler: { enabled: false, replicas: 1 },
      monitoring: { enabled: false },
      parameters: {},
      database: "orders",
      owner: "orders",
      users: [],
      deletion_policy: "keep_backups",
      deletion_protection: false,
      suspended: false,
      source: null,
      standby: null,
    },
    status: { phase: "ready", generation: 1, observed_generation: 1, ready_instances: 2, desired_instances: 2, primary_instance: "orders-1" },
    allowed_actions: allowedActions({ promote: "cluster `orders` is not a standby: there is nothing to promote" }),
    ...overrides,
  };
}

/** The server's reason for refusing a day-2 operation on a standby. */
export const standbyReason = (name: string, source: string, kind: string) =>
  `cluster \`${name}\` is a standby of \`${source}\`: it is read-only and follows \`${source}\` until it is promoted (POST .../promote), so it cannot take a \`${kind}\` operation`;

/** A standby named `name` following `source`, ready, refused what the server refuses a standby. */
export function standby(source = "orders", name = "orders-dr"): Cluster {
  const base = cluster();
  const refused = (kind: string) => standbyReason(name, source, kind);
  return {
    ...base,
    id: "c2",
    name,
    spec: { ...base.spec, name, database: name, owner: name, standby: { source } },
    allowed_actions: allowedActions({
      extensions: refused("extension"),
      backup: refused("backup"),
      restore: refused("restore"),
      switchover: refused("switchover"),
      upgrade: refused("upgrade"),
      minor_upgrade: refused("minor_upgrade"),
      rotate_password: refused("rotate_password"),
      clone: `\`${name}\` is a standby of \`${source}\` and takes no backups: clone \`${source}\` instead`,
      create_standby: `\`${name}\` is itself a standby of \`${source}\`: follow \`${source}\`, or promote \`${name}\` first`,
    }),
  };
}

export function quota(overrides: Partial<Quota> = {}): Quota {
  return {
    max_clusters: 10,
    max_instances: 20,
    max_cpu_millis: 16000,
    max_memory_mib: 65536,
    max_storage_gib: 1000,
    updated_at: "2026-01-01T00:00:00Z",
    usage: { clusters: 1, instances: 2, cpu_millis: 2000, memory_mib: 4096, storage_gib: 80 },
    ...overrides,
  };
}

export function operation(overrides: Partial<Operation> = {}): Operation {
  return {
    id: "op1",
    kind: "create",
    state: "running",
    tenant_id: "t1",
    cluster: "orders",
    attempts: 1,
    deadline: "2026-01-01T01:00:00Z",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    steps: [
      { name: "queued", state: "done", at: "2026-01-01T00:00:00Z" },
      { name: "applied", state: "done", at: "2026-01-01T00:00:01Z" },
      { name: "waiting_for_operator", state: "current" },
      { name: "done", state: "pending" },
    ],
    ...overrides,
  };
}
