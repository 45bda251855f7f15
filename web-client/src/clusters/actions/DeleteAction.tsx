// Delete a cluster: the person types its name to confirm, and is told what happens to backups.
import { Button, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconTrash } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { ActionProps } from "./types";
import { controlProps } from "../allowance";

export function DeleteAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const [typed, setTyped] = useState("");
  const $api = useApi();
  const queryClient = useQueryClient();
  const remove = $api.useMutation("delete", "/v1/tenants/{tenant}/clusters/{cluster}", {
    onSettled: () => queryClient.invalidateQueries(),
  });
  const keepsBackups = cluster.spec.deletion_policy === "keep_backups" && cluster.spec.backups.enabled;

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const op = await remove.mutateAsync({ params: { path: { tenant, cluster: cluster.name } } });
      onStarted(op);
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        color="red"
        variant="light"
        leftSection={<IconTrash size={16} aria-hidden />}
        onClick={() => {
          setTyped("");
          remove.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.delete)}
      >
        Delete
      </Button>
      <Modal opened={opened} onClose={close} title={`Delete ${cluster.name}?`}>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <ErrorAlert error={remove.error} title="Not deleted" />
            <Text size="sm">
              Every instance and its data volume are removed.{" "}
              {keepsBackups
                ? "Backups are kept, so the data can be restored into a new cluster."
                : "Backups are deleted too: this cannot be undone."}
            </Text>
            <TextInput
              label={`Type ${cluster.name} to confirm`}
              value={typed}
              onChange={(e) => setTyped(e.currentTarget.value)}
              autoComplete="off"
              data-autofocus
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" color="red" disabled={typed !== cluster.name} loading={remove.isPending}>
                Delete cluster
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
