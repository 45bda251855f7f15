import { describe, expect, it } from "vitest";
import { bytes, formatBytes, clusterUsage, cpuMillis, formatCpu, formatMib } from "./quantity";

describe("quantities", () => {
  it("reads CPU as the API does", () => {
    expect(cpuMillis("500m")).toBe(500);
    expect(cpuMillis("1.5")).toBe(1500);
    expect(cpuMillis("2")).toBe(2000);
    expect(cpuMillis("lots")).toBeNull();
    expect(cpuMillis("2Gi")).toBeNull();
  });

  it("reads binary and decimal byte suffixes", () => {
    expect(bytes("2Gi")).toBe(2 * 2 ** 30);
    expect(bytes("512Mi")).toBe(512 * 2 ** 20);
    expect(bytes("1G")).toBe(1e9);
    expect(bytes("1Xi")).toBeNull();
  });

  it("counts a cluster against the quota like the server (instances, pooler, backup repository)", () => {
    // Two instances of 1 CPU / 2Gi / 20Gi with backups: the server counts 80 GiB (2×20 + 2×20 repo).
    expect(clusterUsage({ name: "x", instances: 2, resources: { cpu: "1", memory: "2Gi" }, storage: { size: "20Gi" } })).toEqual({
      clusters: 1,
      instances: 2,
      cpu_millis: 2000,
      memory_mib: 4096,
      storage_gib: 80,
    });
    const pooled = clusterUsage({ name: "x", pooler: { enabled: true, replicas: 2 }, backups: { enabled: false } });
    expect(pooled.cpu_millis).toBe(1000 + 200);
    expect(pooled.memory_mib).toBe(2048 + 256);
    expect(pooled.storage_gib).toBe(20);
  });

  it("formats for people", () => {
    expect(formatCpu(2500)).toBe("2.5 CPU");
    expect(formatCpu(16000)).toBe("16 CPU");
    expect(formatMib(65536)).toBe("64 GiB");
    expect(formatMib(512)).toBe("512 MiB");
  });

  it("formats byte counts with binary units and no trailing zeros", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(31_457_280)).toBe("30 MiB");
    expect(formatBytes(39_006_208)).toBe("37.2 MiB");
    expect(formatBytes(2 * 2 ** 30)).toBe("2 GiB");
    expect(formatBytes(512 * 2 ** 30)).toBe("512 GiB");
    expect(formatBytes(3 * 2 ** 40)).toBe("3 TiB");
    expect(formatBytes(3_019_899)).toBe("2.9 MiB");
  });

  it("says nothing is known rather than inventing a size", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
  });
});
