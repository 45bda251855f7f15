// PostgreSQL upgrades: to the newest minor version (the newest image the platform approves for
// the cluster's major version; instances restart one at a time), or to a newer major version
// (pg_upgrade through PGO's PGUpgrade; the modal says plainly that the cluster is down meanwhile).
import { Alert, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowBigUpLines } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { ActionProps } from "./types";
import { useUpgrade } from "./usePostAction";
import { standbyRefusal } from "../standby";

/** Newest PostgreSQL major version the API accepts. */
export const NEWEST_POSTGRES_VERSION = 18;

/** The versions a cluster on `current` can move to, newest first. */
export function upgradeTargets(current: number): string[] {
  const out: string[] = [];
  for (let v = NEWEST_POSTGRES_VERSION; v > current; v--) out.push(String(v));
  return out;
}

/** The choice of a minor version upgrade in the picker. */
export const MINOR = "minor";

/** What the picker offers: the newest minor version first, then every newer major version. */
export function upgradeChoices(current: number): { value: string; label: string }[] {
  return [
    { value: MINOR, label: `Newest minor version of ${current} (approved image)` },
    ...upgradeTargets(current).map((v) => ({ value: v, label: `PostgreSQL ${v} (major version)` })),
  ];
}

/** The request body of a choice: no version asks for the newest approved minor version. */
export function upgradeBody(choice: string): { postgres_version?: number } {
  return choice === MINOR ? {} : { postgres_version: Number(choice) };
}

export function UpgradeAction({ tenant, cluster, onStarted, busy }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const choices = upgradeChoices(cluster.spec.postgres_version);
  const [version, setVersion] = useState(MINOR);
  const upgrade = useUpgrade();
  const errors = fieldErrors(upgrade.error);
  const minor = version === MINOR;
  const image = cluster.status.postgres_image;
  const refused = standbyRefusal(cluster);

  async function confirm() {
    try {
      const body = upgradeBody(version);
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
          setVersion(MINOR);
          upgrade.reset();
          open();
        }}
        disabled={busy || cluster.spec.suspended || !!refused}
        title={refused ?? undefined}
      >
        Upgrade PostgreSQL
      </Button>
      <Modal opened={opened} onClose={close} title={`Upgrade ${cluster.name}`}>
        <Stack>
          <ErrorAlert error={errors.postgres_version ? null : upgrade.error} title="No upgrade" />
          <Text size="sm">
            {cluster.name} runs PostgreSQL {cluster.spec.postgres_version} on{" "}
            {image ? (
              <Text span size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
                {image}
              </Text>
            ) : (
              "the operator's default image"
            )}
            .
          </Text>
          <Select
            label="Upgrade to"
            data={choices}
            value={version}
            onChange={(v) => v && setVersion(v)}
            allowDeselect={false}
            error={errors.postgres_version}
          />
          {minor ? (
            <Alert color="blue" variant="light" title="Rolling restart">
              Instances restart one at a time on the newest image the platform approves for PostgreSQL{" "}
              {cluster.spec.postgres_version}, replicas first, then the primary. Connections to a
              restarting instance drop and reconnect. An image that cannot start is rolled back.
            </Alert>
          ) : (
            <>
              <Text size="sm">
                The upgrade stops every instance, runs pg_upgrade and starts the cluster on the new version, then
                takes a new full backup.
              </Text>
              <Alert color="orange" variant="light" title="Downtime">
                The cluster accepts no connections while the upgrade runs. If it fails, the cluster starts again on
                PostgreSQL {cluster.spec.postgres_version} with its data unchanged.
              </Alert>
            </>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={minor ? "blue" : "orange"} onClick={() => void confirm()} loading={upgrade.isPending}>
              {minor ? "Upgrade minor version" : `Upgrade to ${version}`}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
