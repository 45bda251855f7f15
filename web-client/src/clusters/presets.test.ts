import { describe, expect, it } from "vitest";
import { PRESETS, initialForm, presetOf, toRequest } from "./presets";
import { scalePatch } from "./actions/ScaleAction";
import { parametersPatch } from "./actions/ParametersAction";

describe("the create form", () => {
  it("asks for one instance without HA and the chosen count with it", () => {
    const form = { ...initialForm(), name: " orders " };
    expect(toRequest(form)).toMatchObject({ name: "orders", instances: 1, resources: { cpu: "500m", memory: "1Gi" } });
    expect(toRequest({ ...form, ha: true, haInstances: 3 }).instances).toBe(3);
  });

  it("sends only that backups are off when they are off", () => {
    expect(toRequest({ ...initialForm(), backups: false }).backups).toEqual({ enabled: false });
  });

  it("clones another cluster, at a point in time when one is given", () => {
    expect(toRequest(initialForm()).source).toBeUndefined();
    expect(toRequest({ ...initialForm(), cloneFrom: "orders" }).source).toEqual({ cluster: "orders" });
    expect(toRequest({ ...initialForm(), cloneFrom: "orders", cloneTime: "2026-01-01T00:00:00.000Z" }).source).toEqual({
      cluster: "orders",
      target_time: "2026-01-01T00:00:00.000Z",
    });
  });

  it("follows another cluster as a standby, with its version and never as a clone", () => {
    const request = toRequest({ ...initialForm(), name: "orders-dr", standbyOf: "orders", cloneFrom: "orders" });
    expect(request.standby).toEqual({ source: "orders" });
    expect(request).not.toHaveProperty("source");
    expect(request).not.toHaveProperty("postgres_version");
    expect(toRequest(initialForm())).not.toHaveProperty("standby");
  });

  it("recognises a preset by its sizes and anything else as custom", () => {
    expect(presetOf(PRESETS.medium)).toBe("medium");
    expect(presetOf({ ...PRESETS.medium, cpu: "3" })).toBe("custom");
  });
});

describe("cluster changes", () => {
  const now = { instances: 2, cpu: "1", memory: "2Gi", storage: "20Gi" };

  it("patch only what changed", () => {
    expect(scalePatch(now, now)).toEqual({});
    expect(scalePatch(now, { ...now, instances: 3, memory: "4Gi" })).toEqual({ instances: 3, resources: { memory: "4Gi" } });
    expect(scalePatch(now, { ...now, storage: " 50Gi " })).toEqual({ storage: { size: "50Gi" } });
  });

  it("remove parameters with null, as a merge patch does", () => {
    const before = { max_connections: "200", work_mem: "4MB" };
    const rows = [
      { name: "max_connections", value: "300" },
      { name: "", value: "ignored" },
      { name: "log_min_duration_statement", value: "500" },
    ];
    expect(parametersPatch(before, rows)).toEqual({ work_mem: null, max_connections: "300", log_min_duration_statement: "500" });
  });
});
