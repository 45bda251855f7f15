import { describe, expect, it } from "vitest";
import { NEWEST_POSTGRES_VERSION, upgradeTargets } from "./UpgradeAction";

describe("upgradeTargets", () => {
  it("offers every newer supported major version, newest first", () => {
    expect(upgradeTargets(16)).toEqual(["18", "17"]);
  });
  it("offers nothing on the newest version", () => {
    expect(upgradeTargets(NEWEST_POSTGRES_VERSION)).toEqual([]);
  });
});
