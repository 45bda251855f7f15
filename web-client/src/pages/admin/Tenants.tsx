// Platform admin: every tenant, creating one, its quota, and suspending it.
import { Anchor, Badge, Button, Card, Group, Table, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlus } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useApi } from "../../auth/AuthProvider";
import { PageHeader } from "../../components/PageHeader";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Loading } from "../../components/Loading";
import { describeError, fieldErrors } from "../../api/problem";
import { formatTime } from "../../lib/time";
import { QuotaEditor } from "./QuotaEditor";

export function AdminTenants() {
  const $api = useApi();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries();
  const list = $api.useQuery("get", "/v1/tenants", { params: { query: { page_size: 500 } } });
  const create = $api.useMutation("post", "/v1/tenants", { onSettled: refresh });
  const update = $api.useMutation("patch", "/v1/tenants/{tenant}", { onSettled: refresh });
  const [name, setName] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [quotaOf, setQuotaOf] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await create.mutateAsync({ body: { name: name.trim(), display_name: displayName.trim() || null } });
      notifications.show({ color: "green", message: `Tenant ${name} created.` });
      setName("");
      setDisplayName("");
    } catch {
      // shown below
    }
  }

  async function setSuspended(tenant: string, suspended: boolean) {
    try {
      await update.mutateAsync({ params: { path: { tenant } }, body: { suspended } });
      notifications.show({ color: "green", message: `${tenant} ${suspended ? "suspended" : "reactivated"}.` });
    } catch (err) {
      notifications.show({ color: "red", title: "Not changed", message: describeError(err) });
    }
  }

  const errors = fieldErrors(create.error);
  return (
    <>
      <PageHeader title="Tenants & quotas" description="Every tenant on the platform. A tenant is a team with its own clusters and quota." />
      <Card withBorder padding="lg" mb="lg" component="form" onSubmit={(e) => void submit(e)} noValidate aria-label="Create a tenant">
        <Group align="flex-end" gap="sm">
          <TextInput
            label="Name"
            description="Lowercase; becomes the namespace"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={errors.name}
            required
            w={260}
          />
          <TextInput
            label="Display name"
            description="Optional"
            value={displayName}
            onChange={(e) => setDisplayName(e.currentTarget.value)}
            error={errors.display_name}
            style={{ flex: 1, minWidth: 200 }}
          />
          <Button type="submit" leftSection={<IconPlus size={16} aria-hidden />} loading={create.isPending} disabled={!name.trim()}>
            Create tenant
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
            <Table verticalSpacing="sm" aria-label="Tenants">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Display name</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(list.data?.items ?? []).map((t) => (
                  <Table.Tr key={t.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/t/${t.name}`} fw={600}>
                        {t.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{t.display_name}</Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatTime(t.created_at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={t.suspended ? "orange" : "green"} variant="light">
                        {t.suspended ? "suspended" : "active"}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button size="xs" variant="default" onClick={() => setQuotaOf(t.name)} aria-label={`Edit quota of ${t.name}`}>
                          Quota
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color={t.suspended ? "blue" : "orange"}
                          onClick={() => void setSuspended(t.name, !t.suspended)}
                          aria-label={`${t.suspended ? "Reactivate" : "Suspend"} ${t.name}`}
                        >
                          {t.suspended ? "Reactivate" : "Suspend"}
                        </Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
      <QuotaEditor tenant={quotaOf} onClose={() => setQuotaOf(null)} />
    </>
  );
}
