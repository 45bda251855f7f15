// Major version upgrade (pg_upgrade through PGO's PGUpgrade). Offered while a newer supported
// version exists; the modal says plainly that the cluster is down while it runs.
import { Alert, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowBigUpLines } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { ActionProps } from "./types";
import { useUpgrade } from "./usePostAction";

/** Newest PostgreSQL major version the API accepts. */
export const NEWEST_POSTGRES_VERSION = 18;

/** The versions a cluster on `current` can move to, newest first. */
export function upgradeTargets(current: number): string[] {
  const out: string[] = [];
  for (let v = NEWEST_POSTGRES_VERSION; v > current; v--) out.push(String(v));
  return out;
}

export function UpgradeAction({ tenant, cluster, onStarted, busy }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const targets = upgradeTargets(cluster.spec.postgres_version);
  const [version, setVersion] = useState(targets[0] ?? "");
  const upgrade = useUpgrade();
  const errors = fieldErrors(upgrade.error);
  if (targets.length === 0) return null;

  async function confirm() {
    try {
      const body = { postgres_version: Number(version) };
      onStarted(await upgrade.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        variant="default"
        leftSection={<IconArrowBigUpLines size={16} aria-hidden />}
        onClick={() => {
          setVersion(targets[0] ?? "");
          upgrade.reset();
          open();
        }}
        disabled={busy || cluster.spec.suspended}
      >
        Upgrade PostgreSQL
      </Button>
      <Modal opened={opened} onClose={close} title={`Upgrade ${cluster.name}`}>
        <Stack>
          <ErrorAlert error={errors.postgres_version ? null : upgrade.error} title="No upgrade" />
          <Text size="sm">
            {cluster.name} runs PostgreSQL {cluster.spec.postgres_version}. The upgrade stops every instance, runs
            pg_upgrade and starts the cluster on the new version, then takes a new full backup.
          </Text>
          <Alert color="orange" variant="light" title="Downtime">
            The cluster accepts no connections while the upgrade runs. If it fails, the cluster starts again on
            PostgreSQL {cluster.spec.postgres_version} with its data unchanged.
          </Alert>
          <Select
            label="New version"
            data={targets}
            value={version}
            onChange={(v) => v && setVersion(v)}
            allowDeselect={false}
            error={errors.postgres_version}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="orange" onClick={confirm} loading={upgrade.isPending}>
              Upgrade to {version}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
