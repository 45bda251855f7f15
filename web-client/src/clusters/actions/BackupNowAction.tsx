// Take a backup now (full by default); the operation ends when the backup has finished.
import { Button, Group, Modal, SegmentedControl, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconDatabaseExport } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Schemas } from "../../api/client";
import type { ActionProps } from "./types";
import { useBackupNow } from "./usePostAction";
import { controlProps } from "../allowance";

type BackupType = Schemas["BackupType"];

const DESCRIPTIONS: Record<BackupType, string> = {
  full: "A complete copy. Slowest, but a restore needs nothing else.",
  differential: "Changes since the last full backup.",
  incremental: "Changes since the last backup of any type. Fastest.",
};

export function BackupNowAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const [type, setType] = useState<BackupType>("full");
  const backup = useBackupNow();

  async function start() {
    try {
      onStarted(await backup.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body: { type } }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        leftSection={<IconDatabaseExport size={16} aria-hidden />}
        onClick={() => {
          setType("full");
          backup.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.backup)}
      >
        Back up now
      </Button>
      <Modal opened={opened} onClose={close} title={`Back up ${cluster.name} now`}>
        <Stack>
          <ErrorAlert error={backup.error} title="No backup started" />
          <SegmentedControl
            aria-label="Backup type"
            value={type}
            onChange={(v) => setType(v)}
            data={[
              { value: "full", label: "Full" },
              { value: "differential", label: "Differential" },
              { value: "incremental", label: "Incremental" },
            ]}
          />
          <Text size="sm" c="dimmed">
            {DESCRIPTIONS[type]} The database stays available while it runs.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void start()} loading={backup.isPending}>
              Start backup
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
