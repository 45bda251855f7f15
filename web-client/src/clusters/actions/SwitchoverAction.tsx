// Promote a replica to primary (planned maintenance, or to move the primary).
import { Button, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconSwitchHorizontal } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { ActionProps } from "./types";
import { useSwitchover } from "./usePostAction";
import { controlProps } from "../allowance";

export function SwitchoverAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const [target, setTarget] = useState("");
  const switchover = useSwitchover();
  const errors = fieldErrors(switchover.error);

  async function confirm() {
    try {
      const body = target.trim() ? { target_instance: target.trim() } : {};
      onStarted(await switchover.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        variant="default"
        leftSection={<IconSwitchHorizontal size={16} aria-hidden />}
        onClick={() => {
          setTarget("");
          switchover.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.switchover)}
      >
        Switchover
      </Button>
      <Modal opened={opened} onClose={close} title={`Switch over ${cluster.name}`}>
        <Stack>
          <ErrorAlert error={errors.target_instance ? null : switchover.error} title="No switchover" />
          <Text size="sm">
            A replica becomes the primary{cluster.status.primary_instance ? ` instead of ${cluster.status.primary_instance}` : ""}.
            Open connections to the primary are dropped and reconnect within seconds.
          </Text>
          <TextInput
            label="Instance to promote"
            description="Leave empty to let the operator pick the healthiest replica."
            value={target}
            onChange={(e) => setTarget(e.currentTarget.value)}
            error={errors.target_instance}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="orange" onClick={() => void confirm()} loading={switchover.isPending}>
              Switch over
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
