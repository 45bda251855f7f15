// PostgreSQL upgrades: to the newest minor version (the newest image the platform approves for
// the cluster's major version; instances restart one at a time), or to a newer major version
// (pg_upgrade through PGO's PGUpgrade; the modal says plainly that the cluster is down meanwhile).
// The server allows each kind on its own (`minor_upgrade`, `upgrade`): the picker offers what
// it allows and says why it refuses the other.
import { Alert, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowBigUpLines } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { ActionProps } from "./types";
import { useUpgrade } from "./usePostAction";
import { anyOf, controlProps, refusalOf } from "../allowance";
import { VERSIONS } from "../presets";

/** The versions a cluster on `current` can move to, newest first. */
export function upgradeTargets(current: number): string[] {
  return VERSIONS.filter((v) => v > current).map(String);
}

/** The choice of a minor version upgrade in the picker. */
export const MINOR = "minor";

/** What the picker offers of what is allowed: the newest minor version first, then every newer major version. */
export function upgradeChoices(current: number, allowed: { minor: boolean; major: boolean }): { value: string; label: string }[] {
  return [
    ...(allowed.minor ? [{ value: MINOR, label: `Newest minor version of ${current} (approved image)` }] : []),
    ...(allowed.major ? upgradeTargets(current).map((v) => ({ value: v, label: `PostgreSQL ${v} (major version)` })) : []),
  ];
}

/** The request body of a choice: no version asks for the newest approved minor version. */
export function upgradeBody(choice: string): { postgres_version?: number } {
  return choice === MINOR ? {} : { postgres_version: Number(choice) };
}

export function UpgradeAction({ tenant, cluster, onStarted }: ActionProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const { minor_upgrade: minorAllowance, upgrade: majorAllowance } = cluster.allowed_actions;
  const choices = upgradeChoices(cluster.spec.postgres_version, { minor: minorAllowance.allowed, major: majorAllowance.allowed });
  const firstChoice = choices[0]?.value ?? MINOR;
  const [version, setVersion] = useState(firstChoice);
  const upgrade = useUpgrade();
  const errors = fieldErrors(upgrade.error);
  const minor = version === MINOR;
  const image = cluster.status.postgres_image;
  // Said in the dialog when one kind is offered and the other is not.
  const notOffered = minorAllowance.allowed ? refusalOf(majorAllowance) : refusalOf(minorAllowance);

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
          setVersion(firstChoice);
          upgrade.reset();
          open();
        }}
        {...controlProps(anyOf(minorAllowance, majorAllowance))}
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
          {notOffered && (
            <Text size="sm" c="dimmed" data-testid="upgrade-not-offered">
              {minorAllowance.allowed ? "No major version upgrade" : "No minor version upgrade"}: {notOffered}
            </Text>
          )}
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
