// Restore the cluster in place to its latest state or to a point in time within the recoverable
// window. It replaces the current data, so the person types the cluster's name to confirm.
import { Alert, Button, Group, Modal, Radio, Stack, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconHistory } from "@tabler/icons-react";
import { useState, type FormEvent } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { fieldErrors } from "../../api/problem";
import type { Schemas } from "../../api/client";
import { formatTime } from "../../lib/time";
import { fromLocalInput, toLocalInput } from "../../lib/localTime";
import type { ActionProps } from "./types";
import { useRestore } from "./usePostAction";
import { controlProps } from "../allowance";

type Window = Schemas["RecoverableWindow"];

export function RestoreAction({ tenant, cluster, onStarted, recoverable }: ActionProps & { recoverable: Window | null | undefined }) {
  const [opened, { open, close }] = useDisclosure(false);
  const [mode, setMode] = useState<"latest" | "time">("latest");
  const [time, setTime] = useState("");
  const [typed, setTyped] = useState("");
  const restore = useRestore();
  const errors = fieldErrors(restore.error);
  const target = mode === "time" ? fromLocalInput(time) : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const body = target ? { target_time: target } : {};
      onStarted(await restore.mutateAsync({ params: { path: { tenant, cluster: cluster.name } }, body }));
      close();
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Button
        variant="default"
        leftSection={<IconHistory size={16} aria-hidden />}
        onClick={() => {
          setMode("latest");
          setTime(recoverable ? toLocalInput(recoverable.latest) : "");
          setTyped("");
          restore.reset();
          open();
        }}
        {...controlProps(cluster.allowed_actions.restore)}
      >
        Restore…
      </Button>
      <Modal opened={opened} onClose={close} title={`Restore ${cluster.name}`} size="lg">
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <ErrorAlert error={errors.target_time ? null : restore.error} title="Not restored" />
            {recoverable && (
              <Text size="sm">
                Recoverable from <b>{formatTime(recoverable.earliest)}</b> to <b>{formatTime(recoverable.latest)}</b>.
              </Text>
            )}
            <Radio.Group value={mode} onChange={(v) => setMode(v)} label="Restore to">
              <Stack gap="xs" mt="xs">
                <Radio value="latest" label="The latest state in the backups" />
                <Radio value="time" label="A point in time" />
              </Stack>
            </Radio.Group>
            {mode === "time" && (
              <TextInput
                label="Time (your local time)"
                type="datetime-local"
                step={1}
                min={recoverable ? toLocalInput(recoverable.earliest) : undefined}
                max={recoverable ? toLocalInput(recoverable.latest) : undefined}
                value={time}
                onChange={(e) => setTime(e.currentTarget.value)}
                error={errors.target_time}
                w={280}
              />
            )}
            <Alert color="red" title="This replaces the cluster's current data">
              Everything written after the chosen time is lost. Applications are disconnected while the cluster restarts.
            </Alert>
            <TextInput
              label={`Type ${cluster.name} to confirm`}
              value={typed}
              onChange={(e) => setTyped(e.currentTarget.value)}
              autoComplete="off"
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button
                type="submit"
                color="red"
                loading={restore.isPending}
                disabled={typed !== cluster.name || (mode === "time" && !target)}
              >
                Restore
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
