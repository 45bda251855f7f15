import { describe, expect, it } from "vitest";
import { MINOR, NEWEST_POSTGRES_VERSION, upgradeBody, upgradeChoices, upgradeTargets } from "./UpgradeAction";

describe("upgradeTargets", () => {
  it("offers every newer supported major version, newest first", () => {
    expect(upgradeTargets(16)).toEqual(["18", "17"]);
  });
  it("offers nothing on the newest version", () => {
    expect(upgradeTargets(NEWEST_POSTGRES_VERSION)).toEqual([]);
  });
});

describe("upgradeChoices", () => {
  it("offers the newest minor version first, then the major versions", () => {
    expect(upgradeChoices(16).map((c) => c.value)).toEqual([MINOR, "18", "17"]);
    expect(upgradeChoices(16)[0]!.label).toBe("Newest minor version of 16 (approved image)");
    expect(upgradeChoices(16)[1]!.label).toBe("PostgreSQL 18 (major version)");
  });
  it("still offers a minor version upgrade on the newest major version", () => {
    expect(upgradeChoices(NEWEST_POSTGRES_VERSION).map((c) => c.value)).toEqual([MINOR]);
  });
});

describe("upgradeBody", () => {
  it("sends no version for a minor upgrade and the version for a major one", () => {
    expect(upgradeBody(MINOR)).toEqual({});
    expect(upgradeBody("18")).toEqual({ postgres_version: 18 });
  });
});
