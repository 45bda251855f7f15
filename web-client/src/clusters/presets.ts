// Create-form presets and the mapping from the form to the API's ClusterRequest. Pure, so the
// form's behaviour is unit-tested without a browser.
import type { ClusterRequest } from "../api/client";

export type PresetName = "small" | "medium" | "large" | "custom";

export interface Size {
  cpu: string;
  memory: string;
  storage: string;
}

export const PRESETS: Record<Exclude<PresetName, "custom">, Size & { description: string }> = {
  small: { cpu: "500m", memory: "1Gi", storage: "10Gi", description: "Development and small apps" },
  medium: { cpu: "2", memory: "4Gi", storage: "50Gi", description: "Typical production service" },
  large: { cpu: "4", memory: "16Gi", storage: "200Gi", description: "Busy or large databases" },
};

export const VERSIONS = [18, 17, 16, 15];

export interface CreateForm extends Size {
  name: string;
  preset: PresetName;
  ha: boolean;
  /** Instances when HA is on (2 or 3); one without HA. */
  haInstances: 2 | 3;
  version: number;
  backups: boolean;
  retentionFull: number;
  pooler: boolean;
  poolerReplicas: number;
  deletionProtection: boolean;
  /** Clone this cluster of the tenant (null: start empty). */
  cloneFrom: string | null;
  /** Point in time of the clone, as an RFC 3339 instant (null: the source's latest state). */
  cloneTime: string | null;
  /** Create a standby following this cluster of the tenant (null: not a standby). Exclusive with a clone. */
  standbyOf: string | null;
}

export function initialForm(): CreateForm {
  return {
    name: "",
    preset: "small",
    ...PRESETS.small,
    ha: false,
    haInstances: 2,
    version: 18,
    backups: true,
    retentionFull: 4,
    pooler: false,
    poolerReplicas: 1,
    deletionProtection: false,
    cloneFrom: null,
    cloneTime: null,
    standbyOf: null,
  };
}

/** The preset a size matches, or "custom". */
export function presetOf(size: Size): PresetName {
  for (const [name, p] of Object.entries(PRESETS)) {
    if (p.cpu === size.cpu && p.memory === size.memory && p.storage === size.storage) return name as PresetName;
  }
  return "custom";
}

export function toRequest(form: CreateForm): ClusterRequest {
  const standby = form.standbyOf;
  return {
    name: form.name.trim(),
    // A standby runs its source's version, which the API fills in (another one is refused). An
    // unchosen source is sent as "" so the API names the missing field rather than creating a primary.
    ...(standby !== null ? { standby: { source: standby } } : { postgres_version: form.version }),
    instances: form.ha ? form.haInstances : 1,
    resources: { cpu: form.cpu.trim(), memory: form.memory.trim() },
    storage: { size: form.storage.trim() },
    backups: form.backups ? { enabled: true, retention_full: form.retentionFull } : { enabled: false },
    pooler: { enabled: form.pooler, replicas: form.poolerReplicas },
    deletion_protection: form.deletionProtection,
    ...(form.cloneFrom && standby === null ? { source: { cluster: form.cloneFrom, ...(form.cloneTime ? { target_time: form.cloneTime } : {}) } } : {}),
  };
}
