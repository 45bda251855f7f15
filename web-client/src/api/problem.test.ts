import { describe, expect, it } from "vitest";
import { describeError, fieldErrors, isProblem, otherFieldErrors } from "./problem";

const validation = {
  type: "https://pgplane.dev/problems/validation",
  title: "Invalid request",
  status: 422,
  detail: "2 fields are invalid",
  errors: [
    { field: "resources.cpu", message: "must be at least 250m" },
    { field: "name", message: "must start with a letter" },
    { field: "name", message: "is too long" },
  ],
};

describe("problem documents", () => {
  it("maps each field path to its messages, joining repeats", () => {
    expect(fieldErrors(validation)).toEqual({
      "resources.cpu": "must be at least 250m",
      name: "must start with a letter; is too long",
    });
  });

  it("lists the field errors a form has no input for", () => {
    expect(otherFieldErrors(validation, ["name"])).toEqual(["resources.cpu: must be at least 250m"]);
  });

  it("has no field errors for things that are not problems", () => {
    expect(fieldErrors(new Error("x"))).toEqual({});
    expect(fieldErrors(null)).toEqual({});
    expect(isProblem({ status: 404 })).toBe(false);
  });

  it("describes problems by their detail and network failures in plain words", () => {
    expect(describeError(validation)).toBe("2 fields are invalid");
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });
});
