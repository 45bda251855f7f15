// Promote a standby: it stops following its source and becomes a writable primary (with backups
// of its own). The source keeps running as a primary, so the dialog says plainly to stop writes
// to it before moving clients; the API's own `warning` in its answer is shown by the page.
import { Alert, Button, Group, Modal, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowBigUpLine } from "@tabler/icons-react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { standbySource } from "../standby";
import { controlProps } from "../allowance";
import type { ActionProps } from "./types";
import { usePromote } from "./usePostAction";

export function PromoteAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const promote = usePromote();
  const source = standbySource(cluster);
  if (!source) return null;

  async function confirm() {
    try {
      onStarted(await promote.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body: {} }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        color="orange"
        leftSection={<IconArrowBigUpLine size={16} aria-hidden />}
        onClick={() => {
          promote.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.promote)}
      >
        Promote…
      </Button>
      <Modal opened={opened} onClose={close} title={`Promote ${cluster.name}?`}>
        <Stack>
          <ErrorAlert error={promote.error} title="Not promoted" />
          <Text size="sm">
            <b>{cluster.name}</b> becomes a writable primary and stops following <b>{source}</b>, for good: to follow{" "}
            {source} again, create a new standby. Its backups start once it is promoted.
          </Text>
          <Alert color="orange" variant="light" title={`${source} keeps running as a primary`}>
            Stop writes to {source} (suspend or delete it) before you point clients at {cluster.name}, or the two copies
            diverge.
          </Alert>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="orange" onClick={() => void confirm()} loading={promote.isPending}>
              Promote to primary
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
