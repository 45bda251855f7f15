import type { Cluster, Operation, Quota } from "../src/api/client";

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
    ...overrides,
  };
}

/** A standby named `name` following `source`, ready. */
export function standby(source = "orders", name = "orders-dr"): Cluster {
  const base = cluster();
  return { ...base, id: "c2", name, spec: { ...base.spec, name, database: name, owner: name, standby: { source } } };
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
