import { describe, expect, it } from "vitest";
import { anyOf, controlProps, refusalOf } from "./allowance";

const yes = { allowed: true };
const no = (reason: string) => ({ allowed: false, reason });

describe("an allowance on a control", () => {
  it("enables the control when allowed, with no tooltip", () => {
    expect(controlProps(yes)).toEqual({ disabled: false, title: undefined });
  });
  it("disables it with the server's reason when refused", () => {
    expect(controlProps(no("operation 1 (update) is still running"))).toEqual({ disabled: true, title: "operation 1 (update) is still running" });
  });
  it("still says something when the server gives no reason", () => {
    expect(refusalOf({ allowed: false })).toBe("Not possible now");
    expect(refusalOf({ allowed: false, reason: null })).toBe("Not possible now");
  });
});

describe("a control carrying several actions", () => {
  it("is allowed when any of them is", () => {
    expect(anyOf(no("no minor"), yes)).toEqual({ allowed: true });
  });
  it("is refused with each distinct reason when none is", () => {
    expect(anyOf(no("no minor"), no("no major"))).toEqual({ allowed: false, reason: "no minor; no major" });
    expect(anyOf(no("busy"), no("busy"))).toEqual({ allowed: false, reason: "busy" });
  });
});
