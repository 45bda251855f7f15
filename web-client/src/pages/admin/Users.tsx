// Platform admin: every user; creating one, disabling, granting platform admin.
import { Badge, Button, Card, Checkbox, Group, PasswordInput, Table, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconUserPlus } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../auth/AuthProvider";
import { useMe } from "../../auth/me";
import type { Schemas } from "../../api/client";
import { PageHeader } from "../../components/PageHeader";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Loading } from "../../components/Loading";
import { describeError, fieldErrors } from "../../api/problem";

type UserIn = Schemas["UserIn"];
const EMPTY: UserIn = { email: "", name: "", password: "", is_platform_admin: false };

export function AdminUsers() {
  const $api = useApi();
  const me = useMe();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries();
  const list = $api.useQuery("get", "/v1/users", { params: { query: { page_size: 500 } } });
  const create = $api.useMutation("post", "/v1/users", { onSettled: refresh });
  const update = $api.useMutation("patch", "/v1/users/{user}", { onSettled: refresh });
  const [form, setForm] = useState<UserIn>(EMPTY);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await create.mutateAsync({ body: { ...form, email: form.email.trim() } });
      notifications.show({ color: "green", message: `User ${form.email} created. Add them to a tenant under Members.` });
      setForm(EMPTY);
    } catch {
      // shown below
    }
  }

  async function patch(user: string, body: Schemas["UserPatch"], done: string) {
    try {
      await update.mutateAsync({ params: { path: { user } }, body });
      notifications.show({ color: "green", message: done });
    } catch (err) {
      notifications.show({ color: "red", title: "Not changed", message: describeError(err) });
    }
  }

  const errors = fieldErrors(create.error);
  return (
    <>
      <PageHeader title="Users" description="Everyone who can sign in. Tenant access is given under each tenant's Members." />
      <Card withBorder padding="lg" mb="lg" component="form" onSubmit={(e) => void submit(e)} noValidate aria-label="Create a user">
        <Group align="flex-start" gap="sm">
          <TextInput
            label="Email"
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.currentTarget.value })}
            error={errors.email}
            required
            w={240}
          />
          <TextInput
            label="Name"
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.currentTarget.value })}
            error={errors.name}
            required
            w={200}
          />
          <PasswordInput
            label="Initial password"
            description="At least 12 characters"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
            error={errors.password}
            required
            w={220}
            autoComplete="new-password"
          />
        </Group>
        <Group mt="sm" justify="space-between">
          <Checkbox
            label="Platform administrator"
            checked={form.is_platform_admin ?? false}
            onChange={(e) => setForm({ ...form, is_platform_admin: e.currentTarget.checked })}
          />
          <Button type="submit" leftSection={<IconUserPlus size={16} aria-hidden />} loading={create.isPending}>
            Create user
          </Button>
        </Group>
        {create.error != null && Object.keys(errors).length === 0 && (
          <div style={{ marginTop: 12 }}>
            <ErrorAlert error={create.error} title="Not created" />
          </div>
        )}
      </Card>
      <Card withBorder padding="md">
        {list.error && <ErrorAlert error={list.error} />}
        {list.isPending ? (
          <Loading />
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="sm" aria-label="Users">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Access</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(list.data?.items ?? []).map((u) => {
                  const self = u.id === me.data?.user?.id;
                  return (
                    <Table.Tr key={u.id}>
                      <Table.Td>{u.name}</Table.Td>
                      <Table.Td>{u.email}</Table.Td>
                      <Table.Td>
                        <Group gap={4}>
                          {u.is_platform_admin && <Badge variant="light">platform admin</Badge>}
                          {u.disabled ? <Badge color="red" variant="light">disabled</Badge> : <Badge color="green" variant="light">active</Badge>}
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        {!self && (
                          <Group gap="xs" wrap="nowrap">
                            <Button
                              size="xs"
                              variant="default"
                              onClick={() =>
                                void patch(u.id, { is_platform_admin: !u.is_platform_admin }, `${u.email} ${u.is_platform_admin ? "is no longer" : "is now"} a platform admin.`)
                              }
                            >
                              {u.is_platform_admin ? "Remove admin" : "Make admin"}
                            </Button>
                            <Button
                              size="xs"
                              variant="subtle"
                              color={u.disabled ? "blue" : "red"}
                              onClick={() => void patch(u.id, { disabled: !u.disabled }, `${u.email} ${u.disabled ? "enabled" : "disabled"}.`)}
                            >
                              {u.disabled ? "Enable" : "Disable"}
                            </Button>
                          </Group>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </>
  );
}
