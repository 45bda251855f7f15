// API keys for scripts, Terraform and CI: personal keys (act as you) or a tenant's service keys
// (act with a role). A new key is shown once, with a copy button; revoking asks first.
import { Alert, Badge, Button, Card, Group, Modal, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconKey } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { useRole } from "../auth/me";
import { TENANT_ROLES } from "../lib/permissions";
import type { Schemas, TenantRole } from "../api/client";
import { PageHeader } from "../components/PageHeader";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { CopyField } from "../components/CopyField";
import { describeError, fieldErrors } from "../api/problem";
import { formatTime } from "../lib/time";

type Key = Schemas["ApiKeyOut"];

export function ApiKeys() {
  const { tenant } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries();
  const tenantPath = { params: { path: { tenant: tenant ?? "" }, query: { page_size: 500 } } };
  const tenantKeys = $api.useQuery("get", "/v1/tenants/{tenant}/api-keys", tenantPath, { enabled: !!tenant });
  const myKeys = $api.useQuery("get", "/v1/me/api-keys", { params: { query: { page_size: 500 } } }, { enabled: !tenant });
  const keys = tenant ? tenantKeys : myKeys;
  const createTenantKey = $api.useMutation("post", "/v1/tenants/{tenant}/api-keys", { onSettled: refresh });
  const createMyKey = $api.useMutation("post", "/v1/me/api-keys", { onSettled: refresh });
  const revokeTenantKey = $api.useMutation("delete", "/v1/tenants/{tenant}/api-keys/{id}", { onSettled: refresh });
  const revokeMyKey = $api.useMutation("delete", "/v1/me/api-keys/{id}", { onSettled: refresh });

  const [name, setName] = useState("");
  const [keyRole, setKeyRole] = useState<TenantRole>("developer");
  const [createError, setCreateError] = useState<unknown>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const [confirmOpen, confirm] = useDisclosure(false);

  async function create(e: FormEvent) {
    e.preventDefault();
    setCreateError(null);
    try {
      const out = tenant
        ? await createTenantKey.mutateAsync({ params: { path: { tenant } }, body: { name: name.trim(), role: keyRole } })
        : await createMyKey.mutateAsync({ body: { name: name.trim() } });
      setCreated(out.key);
      setName("");
    } catch (err) {
      setCreateError(err);
    }
  }

  async function revoke() {
    if (!revoking) return;
    try {
      if (tenant) await revokeTenantKey.mutateAsync({ params: { path: { tenant, id: revoking.id } } });
      else await revokeMyKey.mutateAsync({ params: { path: { id: revoking.id } } });
      notifications.show({ color: "green", message: `Key ${revoking.name} revoked.` });
    } catch (err) {
      notifications.show({ color: "red", title: "Not revoked", message: describeError(err) });
    }
    confirm.close();
  }

  const errors = fieldErrors(createError);
  const active = (keys.data?.items ?? []).filter((k) => !k.revoked_at);
  return (
    <>
      <PageHeader
        title={tenant ? "Service keys" : "My API keys"}
        description={
          tenant
            ? `Keys for automation in ${tenant}; each acts with the role you give it.`
            : "Personal keys act as you, with your roles. Use them for scripts and the CLI."
        }
      />
      {tenant && role === undefined ? null : (
        <Card withBorder padding="lg" mb="lg" component="form" onSubmit={(e) => void create(e)} noValidate aria-label="Create an API key">
          <Group align="flex-end" gap="sm">
            <TextInput
              label="What is it for?"
              placeholder="terraform-ci"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={errors.name}
              style={{ flex: 1, minWidth: 220 }}
              required
            />
            {tenant && (
              <Select
                label="Role"
                data={TENANT_ROLES}
                value={keyRole}
                onChange={(v) => v && setKeyRole(v)}
                allowDeselect={false}
                error={errors.role}
                w={160}
              />
            )}
            <Button
              type="submit"
              leftSection={<IconKey size={16} aria-hidden />}
              loading={createTenantKey.isPending || createMyKey.isPending}
              disabled={!name.trim()}
            >
              Create key
            </Button>
          </Group>
          {createError != null && Object.keys(errors).length === 0 && (
            <div style={{ marginTop: 12 }}>
              <ErrorAlert error={createError} title="Not created" />
            </div>
          )}
        </Card>
      )}
      <Card withBorder padding="md">
        {keys.error && <ErrorAlert error={keys.error} />}
        {keys.isPending ? (
          <Loading />
        ) : active.length === 0 ? (
          <Text c="dimmed" ta="center" py="lg">
            No keys yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={600}>
            <Table verticalSpacing="sm" aria-label="API keys">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Key starts with</Table.Th>
                  {tenant && <Table.Th>Role</Table.Th>}
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {active.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td fw={500}>{k.name}</Table.Td>
                    <Table.Td ff="monospace">{k.prefix}…</Table.Td>
                    {tenant && (
                      <Table.Td>
                        <Badge variant="light">{k.role}</Badge>
                      </Table.Td>
                    )}
                    <Table.Td>
                      {k.last_used_at ? (
                        <>
                          {formatTime(k.last_used_at)}
                          {k.last_used_from && (
                            <Text span c="dimmed" size="sm">
                              {" "}
                              from {k.last_used_from}
                            </Text>
                          )}
                        </>
                      ) : (
                        "never"
                      )}
                    </Table.Td>
                    <Table.Td>{formatTime(k.created_at)}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        color="red"
                        variant="subtle"
                        onClick={() => {
                          setRevoking(k);
                          confirm.open();
                        }}
                        aria-label={`Revoke ${k.name}`}
                      >
                        Revoke
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
      <Modal opened={created !== null} onClose={() => setCreated(null)} title="Your new API key" size="lg">
        <Stack>
          <Alert color="yellow">Copy it now: it is not stored and cannot be shown again.</Alert>
          {created && <CopyField value={created} label="New API key" />}
          <Group justify="flex-end">
            <Button onClick={() => setCreated(null)}>I have copied it</Button>
          </Group>
        </Stack>
      </Modal>
      <Modal opened={confirmOpen} onClose={confirm.close} title={`Revoke ${revoking?.name ?? "key"}?`}>
        <Stack>
          <Text size="sm">Anything using this key stops working immediately.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={confirm.close}>
              Cancel
            </Button>
            <Button color="red" onClick={() => void revoke()} loading={revokeTenantKey.isPending || revokeMyKey.isPending}>
              Revoke
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
