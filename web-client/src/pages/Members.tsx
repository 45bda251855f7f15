// Members of a tenant and their roles. Owners and admins add, change and remove members;
// only owners hand out or take away the owner role.
import { ActionIcon, Button, Card, Group, Select, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconTrash, IconUserPlus } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { useMe, useRole } from "../auth/me";
import { can, TENANT_ROLES } from "../lib/permissions";
import type { TenantRole } from "../api/client";
import { PageHeader } from "../components/PageHeader";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { describeError, fieldErrors } from "../api/problem";

export function Members() {
  const { tenant = "" } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const me = useMe();
  const queryClient = useQueryClient();
  const manage = can(role, "manage_members");
  const roles = TENANT_ROLES.filter((r) => r !== "owner" || can(role, "manage_owners"));
  const list = $api.useQuery("get", "/v1/tenants/{tenant}/members", { params: { path: { tenant }, query: { page_size: 500 } } });
  const refresh = () => queryClient.invalidateQueries();
  const put = $api.useMutation("put", "/v1/tenants/{tenant}/members/{user}", { onSettled: refresh });
  const remove = $api.useMutation("delete", "/v1/tenants/{tenant}/members/{user}", { onSettled: refresh });
  const [email, setEmail] = useState("");
  const [newRole, setNewRole] = useState<TenantRole>("developer");
  const [addError, setAddError] = useState<unknown>(null);

  async function add(e: FormEvent) {
    e.preventDefault();
    setAddError(null);
    try {
      await put.mutateAsync({ params: { path: { tenant, user: email.trim() } }, body: { role: newRole } });
      notifications.show({ color: "green", message: `${email} is now ${newRole} of ${tenant}.` });
      setEmail("");
    } catch (err) {
      setAddError(err);
    }
  }

  async function change(user: string, role: TenantRole) {
    try {
      await put.mutateAsync({ params: { path: { tenant, user } }, body: { role } });
      notifications.show({ color: "green", message: `${user} is now ${role}.` });
    } catch (err) {
      notifications.show({ color: "red", title: "Role not changed", message: describeError(err) });
    }
  }

  async function drop(user: string) {
    try {
      await remove.mutateAsync({ params: { path: { tenant, user } } });
      notifications.show({ color: "green", message: `${user} was removed from ${tenant}.` });
    } catch (err) {
      notifications.show({ color: "red", title: "Not removed", message: describeError(err) });
    }
  }

  const errors = fieldErrors(addError);
  return (
    <>
      <PageHeader title="Members" description={`People who can use tenant ${tenant}, and their roles.`} />
      {manage && (
        <Card withBorder padding="lg" mb="lg" component="form" onSubmit={(e) => void add(e)} noValidate aria-label="Add a member">
          <Group align="flex-end" gap="sm">
            <TextInput
              label="Email of an existing user"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              error={errors.user ?? errors.email}
              style={{ flex: 1, minWidth: 220 }}
              required
            />
            <Select
              label="Role"
              data={roles}
              value={newRole}
              onChange={(v) => v && setNewRole(v)}
              allowDeselect={false}
              w={160}
            />
            <Button type="submit" leftSection={<IconUserPlus size={16} aria-hidden />} loading={put.isPending} disabled={!email.trim()}>
              Add member
            </Button>
          </Group>
          {addError != null && Object.keys(errors).length === 0 && (
            <div style={{ marginTop: 12 }}>
              <ErrorAlert error={addError} title="Not added" />
            </div>
          )}
        </Card>
      )}
      <Card withBorder padding="md">
        {list.error && <ErrorAlert error={list.error} />}
        {list.isPending ? (
          <Loading />
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="sm" aria-label="Members">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Role</Table.Th>
                  {manage && <Table.Th w={60}>Remove</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(list.data?.items ?? []).map((m) => {
                  const self = m.user_id === me.data?.user?.id;
                  const editable = manage && !self && (m.role !== "owner" || can(role, "manage_owners"));
                  return (
                    <Table.Tr key={m.user_id}>
                      <Table.Td>{m.name}</Table.Td>
                      <Table.Td>{m.email}</Table.Td>
                      <Table.Td>
                        {editable ? (
                          <Select
                            aria-label={`Role of ${m.email}`}
                            data={roles}
                            value={m.role}
                            onChange={(v) => {
                              if (v && v !== m.role) void change(m.email, v as TenantRole);
                            }}
                            allowDeselect={false}
                            w={150}
                            size="xs"
                          />
                        ) : (
                          <Text size="sm" tt="capitalize">
                            {m.role}
                            {self ? " (you)" : ""}
                          </Text>
                        )}
                      </Table.Td>
                      {manage && (
                        <Table.Td>
                          {editable && (
                            <Tooltip label="Remove from tenant">
                              <ActionIcon variant="subtle" color="red" aria-label={`Remove ${m.email}`} onClick={() => void drop(m.email)}>
                                <IconTrash size={16} aria-hidden />
                              </ActionIcon>
                            </Tooltip>
                          )}
                        </Table.Td>
                      )}
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
