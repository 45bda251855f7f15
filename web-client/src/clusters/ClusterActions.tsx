// The day-2 actions of a cluster, each one small component in ./actions. New operations of the
// API get a component there and a line here (backup and restore live with the backups panel).
import { Divider, Group, SimpleGrid, Stack } from "@mantine/core";
import type { ActionProps } from "./actions/types";
import { ScaleAction } from "./actions/ScaleAction";
import { SuspendAction } from "./actions/SuspendAction";
import { ParametersAction } from "./actions/ParametersAction";
import { ProtectionAction } from "./actions/ProtectionAction";
import { DeleteAction } from "./actions/DeleteAction";
import { RotatePasswordAction } from "./actions/RotatePasswordAction";
import { SwitchoverAction } from "./actions/SwitchoverAction";
import { CloneAction } from "./actions/CloneAction";
import { UpgradeAction } from "./actions/UpgradeAction";

export function ClusterActions(props: ActionProps) {
  return (
    <Stack gap="md">
      {/* Changes to a running cluster, in a tidy grid however many there are. */}
      <SimpleGrid cols={{ base: 1, xs: 2, sm: 3 }} spacing="sm">
        <ScaleAction {...props} />
        <ParametersAction {...props} />
        <RotatePasswordAction {...props} />
        <SwitchoverAction {...props} />
        <UpgradeAction {...props} />
        <CloneAction {...props} />
      </SimpleGrid>
      <Divider label="Lifecycle" labelPosition="left" />
      <Group justify="space-between">
        <ProtectionAction {...props} />
        <Group gap="sm">
          <SuspendAction {...props} />
          <DeleteAction {...props} />
        </Group>
      </Group>
    </Stack>
  );
}
