import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { OperationTimeline, operationProgress, operationTitle } from "./OperationTimeline";
import { operation } from "../../test/fixtures";

const show = (op: ReturnType<typeof operation>) =>
  render(
    <MantineProvider>
      <OperationTimeline op={op} />
    </MantineProvider>,
  );

describe("the operation timeline", () => {
  it("shows progress and what it waits for while running", () => {
    const op = operation({ waiting_for: "the operator to observe generation 2" });
    expect(operationProgress(op)).toBe(50);
    show(op);
    expect(screen.getByText(/Waiting for: the operator/)).toBeInTheDocument();
    expect(screen.getByLabelText("Operation progress 50%")).toBeInTheDocument();
  });

  it("ends in a clear error", () => {
    show(operation({ state: "failed", error: "storage cannot shrink" }));
    expect(screen.getByRole("alert")).toHaveTextContent("storage cannot shrink");
  });

  it("ends in a clear success", () => {
    show(operation({ state: "succeeded", finished_at: "2026-01-01T00:01:00Z" }));
    expect(screen.getByRole("status")).toHaveTextContent(/succeeded/);
  });

  it("names operations in words", () => {
    expect(operationTitle(operation({ kind: "update" }))).toBe("Update orders");
    expect(operationTitle(operation({ kind: "rotate_password" }))).toBe("Rotate password of orders");
    expect(operationTitle(operation({ kind: "backup", cluster: null }))).toBe("Backup");
  });

  it("names extension changes after what they enable or disable, and where", () => {
    const enable = operation({ kind: "extension", cluster: "shop", params: { action: "extension", database: "orders", name: "vector", enable: true } as never });
    expect(operationTitle(enable)).toBe("Enable vector in orders of shop");
    const disable = operation({ kind: "extension", cluster: "shop", params: { action: "extension", database: "analytics", name: "pg_trgm", enable: false } as never });
    expect(operationTitle(disable)).toBe("Disable pg_trgm in analytics of shop");
    // Params it cannot read: still a sentence, never "undefined".
    expect(operationTitle(operation({ kind: "extension", cluster: "shop", params: null }))).toBe("Extension change in shop");
    expect(operationTitle(operation({ kind: "extension", cluster: "shop", params: { name: "vector" } as never }))).toBe("Extension change in shop");
  });

  it("names minor version upgrades", () => {
    expect(operationTitle(operation({ kind: "minor_upgrade" }))).toBe("Minor version upgrade of orders");
    expect(operationTitle(operation({ kind: "upgrade" }))).toBe("Upgrade orders");
  });

  it("names a standby's promotion", () => {
    expect(operationTitle(operation({ kind: "promote", cluster: "orders-dr" }))).toBe("Promote standby orders-dr");
  });
});
