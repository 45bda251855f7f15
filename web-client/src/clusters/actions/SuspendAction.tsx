// Suspend (stop every pod, keep volumes and backups) or resume a cluster, after a confirmation.
import { Button, Group, Modal, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlayerPause, IconPlayerPlay } from "@tabler/icons-react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { ActionProps } from "./types";
import { controlProps } from "../allowance";
import { usePatchCluster } from "./usePatchCluster";

export function SuspendAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const patch = usePatchCluster(tenant, cluster.name);
  const suspended = cluster.spec.suspended;
  const verb = suspended ? "Resume" : "Suspend";
  const allowance = suspended ? cluster.allowed_actions.resume : cluster.allowed_actions.suspend;

  async function confirm() {
    try {
      onStarted(await patch.patch({ suspended: !suspended }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        variant="default"
        leftSection={suspended ? <IconPlayerPlay size={16} aria-hidden /> : <IconPlayerPause size={16} aria-hidden />}
        onClick={() => {
          patch.reset();
          open();
        }}
        {...controlProps(allowance)}
      >
        {verb}
      </Button>
      <Modal opened={opened} onClose={close} title={`${verb} ${cluster.name}?`}>
        <Stack>
          <ErrorAlert error={patch.error} />
          <Text size="sm">
            {suspended
              ? "The cluster's instances start again with their data. Connections work once it is ready."
              : "Every instance stops: applications lose their connections until you resume. Data and backups are kept, and suspended clusters use no CPU or memory quota."}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={suspended ? "blue" : "orange"} onClick={() => void confirm()} loading={patch.isPending}>
              {verb}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
