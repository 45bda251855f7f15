import { describe, expect, it } from "vitest";
import { roleFormErrors } from "./RolesPanel";

const problem = (errors: { field: string; message: string }[]) => ({ status: 422, title: "Invalid request", detail: "", errors });

describe("roleFormErrors", () => {
  it("puts every databases[i] error under the databases input", () => {
    const e = roleFormErrors(problem([
      { field: "databases[0]", message: "must not start with `pg_`" },
      { field: "databases[2]", message: "is reserved" },
      { field: "role", message: "must start with a lowercase letter" },
    ]));
    expect(e.databases).toBe("must not start with `pg_`; is reserved");
    expect(e.role).toBe("must start with a lowercase letter");
    expect(e.other).toEqual([]);
  });
  it("keeps errors of fields the form does not show", () => {
    expect(roleFormErrors(problem([{ field: "users", message: "at most 64" }])).other).toEqual(["users: at most 64"]);
  });
});
