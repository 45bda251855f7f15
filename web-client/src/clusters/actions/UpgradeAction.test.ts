import { describe, expect, it } from "vitest";
import { MINOR, upgradeBody, upgradeChoices, upgradeTargets } from "./UpgradeAction";

describe("upgradeTargets", () => {
  it("offers every newer supported major version, newest first", () => {
    expect(upgradeTargets(16)).toEqual(["18", "17"]);
  });
  it("offers nothing on the newest version", () => {
    expect(upgradeTargets(18)).toEqual([]);
  });
});

describe("upgradeChoices", () => {
  const both = { minor: true, major: true };
  it("offers the newest minor version first, then the major versions", () => {
    expect(upgradeChoices(16, both).map((c) => c.value)).toEqual([MINOR, "18", "17"]);
    expect(upgradeChoices(16, both)[0]!.label).toBe("Newest minor version of 16 (approved image)");
    expect(upgradeChoices(16, both)[1]!.label).toBe("PostgreSQL 18 (major version)");
  });
  it("offers only a minor version upgrade on the newest major version", () => {
    expect(upgradeChoices(18, both).map((c) => c.value)).toEqual([MINOR]);
  });
  it("offers only the kinds the server allows", () => {
    expect(upgradeChoices(16, { minor: false, major: true }).map((c) => c.value)).toEqual(["18", "17"]);
    expect(upgradeChoices(16, { minor: true, major: false }).map((c) => c.value)).toEqual([MINOR]);
  });
});

describe("upgradeBody", () => {
  it("sends no version for a minor upgrade and the version for a major one", () => {
    expect(upgradeBody(MINOR)).toEqual({});
    expect(upgradeBody("18")).toEqual({ postgres_version: 18 });
  });
});
