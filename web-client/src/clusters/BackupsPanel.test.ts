import { describe, expect, it } from "vitest";
import { newestFirst, windowSourceLabel } from "./BackupsPanel";

const backup = (label: string, finished_at: string) => ({ label, finished_at, started_at: finished_at, type: "full", repo: "repo1" });

describe("the backup repository", () => {
  it("lists backups newest first whatever order pgBackRest gave", () => {
    const oldestFirst = [backup("a", "2026-01-01T00:00:00Z"), backup("c", "2026-01-03T00:00:00Z"), backup("b", "2026-01-02T00:00:00Z")];
    expect(newestFirst(oldestFirst).map((b) => b.label)).toEqual(["c", "b", "a"]);
    expect(oldestFirst.map((b) => b.label)).toEqual(["a", "c", "b"]);
  });

  it("says where the recoverable window comes from", () => {
    expect(windowSourceLabel("repository")).toBe("from what the backup repository holds");
    expect(windowSourceLabel("records")).toBe("from the backups pgplane saw finish");
    expect(windowSourceLabel(undefined)).toBe("from the backups pgplane saw finish");
  });
});
