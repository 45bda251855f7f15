// Endpoints with copyable connection strings, for the owner or any other role of the cluster.
// The password is revealed only after a confirmation (every reveal is audited) and only for
// members allowed to see it.
import { Alert, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconEye, IconEyeOff } from "@tabler/icons-react";
import { useState } from "react";
import { useAuth, useApi } from "../auth/AuthProvider";
import type { Cluster, Schemas } from "../api/client";
import { CopyField } from "../components/CopyField";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { isProblem } from "../api/problem";
import { standbySource } from "./standby";

type Connection = Schemas["ConnectionOut"];

function Endpoints({ connection, standby }: { connection: Connection; standby: boolean }) {
  const endpoints = [
    // A standby's primary replays its source's changes and accepts no writes until promoted.
    { key: "primary", label: standby ? "Primary (read-only: standby)" : "Primary (read-write)", ep: connection.primary },
    { key: "replicas", label: "Replicas (read-only)", ep: connection.replicas },
    { key: "pooler", label: "Pooler (PgBouncer)", ep: connection.pooler },
  ].filter((e) => e.ep);
  return (
    <Stack gap="sm">
      {endpoints.map(({ key, label, ep }) => (
        <div key={key}>
          <Text size="sm" fw={500} mb={4}>
            {label} · {ep!.host}:{ep!.port}
          </Text>
          <CopyField value={ep!.uri} label={`${label} connection string`} />
        </div>
      ))}
    </Stack>
  );
}

export function ConnectionPanel({ tenant, cluster, mayReveal }: { tenant: string; cluster: Cluster; mayReveal: boolean }) {
  const $api = useApi();
  const { api } = useAuth();
  const [confirming, { open, close }] = useDisclosure(false);
  const [revealed, setRevealed] = useState<Connection | null>(null);
  const [revealError, setRevealError] = useState<unknown>(null);
  const [revealing, setRevealing] = useState(false);
  // The PostgreSQL role to connect as: the owner (no `role` parameter) or one of spec.users.
  const owner = cluster.spec.owner;
  const roles = [owner, ...(cluster.spec.users ?? []).map((u) => u.name)];
  const [role, setRole] = useState(owner);
  const roleQuery = role === owner ? {} : { role };
  const path = { params: { path: { tenant, cluster: cluster.name }, query: roleQuery } };
  const connection = $api.useQuery("get", "/v1/tenants/{tenant}/clusters/{cluster}/connection", path, {
    // Connection facts appear once the cluster is up; until then the API answers 409.
    refetchInterval: (q) => (q.state.data ? false : 3_000),
    retry: false,
  });

  async function reveal() {
    setRevealing(true);
    setRevealError(null);
    try {
      const { data, error } = await api.GET("/v1/tenants/{tenant}/clusters/{cluster}/connection", {
        params: { path: { tenant, cluster: cluster.name }, query: { ...roleQuery, reveal: true } },
      });
      if (error) setRevealError(error);
      else if (data) setRevealed(data);
      close();
    } catch (err) {
      setRevealError(err);
      close();
    } finally {
      setRevealing(false);
    }
  }

  if (connection.isPending) return <Loading label="Loading connection details" />;
  if (connection.error) {
    const notYet = isProblem(connection.error) && connection.error.status === 409;
    return notYet ? (
      <Text c="dimmed" size="sm">
        Connection details appear when the cluster is ready.
      </Text>
    ) : (
      <ErrorAlert error={connection.error} />
    );
  }
  const shown = revealed ?? connection.data;
  return (
    <Stack gap="md">
      {roles.length > 1 && (
        <Select
          label="Connect as"
          data={roles}
          value={role}
          allowDeselect={false}
          w={240}
          onChange={(value) => {
            if (!value) return;
            setRole(value);
            setRevealed(null);
            setRevealError(null);
          }}
        />
      )}
      <Group gap="xl">
        <Text size="sm">
          Database <b>{shown.database}</b>
        </Text>
        <Text size="sm">
          User <b>{shown.user}</b>
        </Text>
        <Text size="sm">
          TLS <b>{shown.sslmode}</b>
        </Text>
      </Group>
      <Endpoints connection={shown} standby={!!standbySource(cluster)} />
      {revealed?.password && (
        <div>
          <Text size="sm" fw={500} mb={4}>
            Password
          </Text>
          <CopyField value={revealed.password} label="Password" />
        </div>
      )}
      <ErrorAlert error={revealError} title="Password not revealed" />
      {mayReveal && (
        <Group>
          {revealed ? (
            <Button variant="default" leftSection={<IconEyeOff size={16} aria-hidden />} onClick={() => setRevealed(null)}>
              Hide password
            </Button>
          ) : (
            <Button variant="default" leftSection={<IconEye size={16} aria-hidden />} onClick={open}>
              Reveal password
            </Button>
          )}
        </Group>
      )}
      {shown.ca_certificate && (
        <details>
          <summary>
            <Text span size="sm">
              CA certificate (save it and pass it as sslrootcert)
            </Text>
          </summary>
          <CopyField value={shown.ca_certificate} label="CA certificate" />
        </details>
      )}
      <Modal opened={confirming} onClose={close} title="Reveal the password?">
        <Stack>
          <Alert color="yellow">
            The password of <b>{shown.user}</b> will be shown on screen and the reveal is recorded in the audit log. Make
            sure nobody is looking over your shoulder.
          </Alert>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void reveal()} loading={revealing}>
              Reveal
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
