// The day-2 actions of a cluster, each one small component in ./actions. New operations of the
// API get a component there and a line here.
import { Divider, Group, Stack } from "@mantine/core";
import type { ActionProps } from "./actions/types";
import { ScaleAction } from "./actions/ScaleAction";
import { SuspendAction } from "./actions/SuspendAction";
import { ParametersAction } from "./actions/ParametersAction";
import { ProtectionAction } from "./actions/ProtectionAction";
import { DeleteAction } from "./actions/DeleteAction";
import { RotatePasswordAction } from "./actions/RotatePasswordAction";

export function ClusterActions(props: ActionProps) {
  return (
    <Stack gap="md">
      <Group gap="sm">
        <ScaleAction {...props} />
        <ParametersAction {...props} />
        <RotatePasswordAction {...props} />
        <SuspendAction {...props} />
      </Group>
      <Divider />
      <Group justify="space-between">
        <ProtectionAction {...props} />
        <DeleteAction {...props} />
      </Group>
    </Stack>
  );
}
