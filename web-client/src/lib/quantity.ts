// Kubernetes quantities measured the way the API counts them against the quota
// (api/src/domain/cluster/quantity.rs and quota.rs), so the create form can show headroom
// before submitting. The server stays the judge; this is an estimate for the person.
import type { ClusterRequest } from "../api/client";

const DECIMAL = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/;
const BYTE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Millicores in a CPU quantity ("500m", "1.5"), or null when it is not one. */
export function cpuMillis(quantity: string): number | null {
  const m = DECIMAL.exec(quantity.trim());
  if (!m) return null;
  const value = Number(m[1]);
  if (m[2] === "") return Math.round(value * 1000);
  if (m[2] === "m") return Math.round(value);
  return null;
}

/** Bytes in a memory or storage quantity ("2Gi", "512Mi", "1G"), or null. */
export function bytes(quantity: string): number | null {
  const m = DECIMAL.exec(quantity.trim());
  if (!m) return null;
  const unit = BYTE_UNITS[m[2] ?? ""];
  return unit === undefined ? null : Number(m[1]) * unit;
}

/** PgBouncer pod size (api/src/domain/cluster/quota.rs). */
const POOLER_CPU_MILLIS = 100;
const POOLER_MEMORY_MIB = 128;
/** The backup repository volume is this many times a data volume (manifest.rs). */
const BACKUP_REPO_FACTOR = 2;

export interface Usage {
  clusters: number;
  instances: number;
  cpu_millis: number;
  memory_mib: number;
  storage_gib: number;
}

/** What a new cluster with these settings counts against the quota (server defaults applied). */
export function clusterUsage(request: ClusterRequest): Usage {
  const instances = request.instances ?? 1;
  const cpu = cpuMillis(request.resources?.cpu ?? "1") ?? 0;
  const memory = Math.ceil((bytes(request.resources?.memory ?? "2Gi") ?? 0) / 2 ** 20);
  const volume = bytes(request.storage?.size ?? "20Gi") ?? 0;
  const volumeGib = Math.ceil(volume / 2 ** 30);
  const backups = request.backups?.enabled ?? true;
  const repoGib = backups ? Math.ceil((volume * BACKUP_REPO_FACTOR) / 2 ** 30) : 0;
  const poolers = request.pooler?.enabled ? (request.pooler.replicas ?? 1) : 0;
  return {
    clusters: 1,
    instances,
    cpu_millis: instances * cpu + poolers * POOLER_CPU_MILLIS,
    memory_mib: instances * memory + poolers * POOLER_MEMORY_MIB,
    storage_gib: instances * volumeGib + repoGib,
  };
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? `${millis / 1000} CPU` : `${(millis / 1000).toFixed(2).replace(/0+$/, "")} CPU`;
}

export function formatMib(mib: number): string {
  return mib >= 1024 ? `${+(mib / 1024).toFixed(1)} GiB` : `${mib} MiB`;
}

export function formatGib(gib: number): string {
  return gib >= 1024 ? `${+(gib / 1024).toFixed(1)} TiB` : `${gib} GiB`;
}

const BYTE_STEPS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes for people: "0 B", "512 B", "1.5 KiB", "37.2 MiB", "2 GiB"; "—" when unknown. */
export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value) || value < 0) return "—";
  let n = value;
  let step = 0;
  while (n >= 1024 && step < BYTE_STEPS.length - 1) {
    n /= 1024;
    step++;
  }
  if (step === 0) return `${Math.round(n)} B`;
  // One decimal below 100, without a trailing zero: 1.5 KiB, 2 GiB, 37.2 MiB, 512 GiB.
  const shown = n >= 100 ? Math.round(n).toString() : (+n.toFixed(1)).toString();
  return `${shown} ${BYTE_STEPS[step]}`;
}
