// Rotate a role's password (the owner by default). The old password stops working when the
// operation succeeds; the new one is what "Reveal password" shows from then on.
import { Alert, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconKey } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useApi } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { ActionProps } from "./types";
import { controlProps } from "../allowance";

export function RotatePasswordAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const roles = [cluster.spec.owner, ...cluster.spec.users.map((u) => u.name)];
  const [user, setUser] = useState(cluster.spec.owner);
  const $api = useApi();
  const queryClient = useQueryClient();
  const rotate = $api.useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/rotate-password", {
    onSettled: () => queryClient.invalidateQueries(),
  });

  async function confirm() {
    try {
      onStarted(await rotate.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body: { user } }));
      close();
    } catch {
      // shown below
    }
  }

  const errors = fieldErrors(rotate.error);
  return (
    <>
      <Button
        variant="default"
        leftSection={<IconKey size={16} aria-hidden />}
        onClick={() => {
          setUser(cluster.spec.owner);
          rotate.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.rotate_password)}
      >
        Rotate password
      </Button>
      <Modal opened={opened} onClose={close} title={`Rotate a password of ${cluster.name}`}>
        <Stack>
          <ErrorAlert error={Object.keys(errors).length ? null : rotate.error} title="Not rotated" />
          {roles.length > 1 && (
            <Select label="Role" data={roles} value={user} onChange={(v) => v && setUser(v)} allowDeselect={false} error={errors.user} />
          )}
          <Alert color="yellow">
            Applications using the current password of <b>{user}</b> lose access once the new one is in place. Update them
            with the new password (Reveal password) right after.
          </Alert>
          <Text size="sm" c="dimmed">
            Open connections stay up; new connections need the new password.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="orange" onClick={() => void confirm()} loading={rotate.isPending}>
              Rotate password
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
