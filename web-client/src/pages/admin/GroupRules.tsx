// Platform admin: the identity providers' group rules. A group grants platform admin or a role in
// one tenant; each sign-in through the provider applies them.
import { Badge, Button, Card, Checkbox, Group, Select, Table, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlus } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../auth/AuthProvider";
import type { Schemas } from "../../api/client";
import { PageHeader } from "../../components/PageHeader";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Loading } from "../../components/Loading";
import { describeError, fieldErrors } from "../../api/problem";
import { TENANT_ROLES } from "../../lib/permissions";

type RuleIn = Schemas["GroupRuleIn"];
const EMPTY: RuleIn = { provider: "", group: "", platform_admin: false, tenant: null, role: null };

export function AdminGroupRules() {
  const $api = useApi();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries();
  const rules = $api.useQuery("get", "/v1/group-rules");
  const options = $api.useQuery("get", "/v1/auth/providers");
  const tenants = $api.useQuery("get", "/v1/tenants", { params: { query: { page_size: 500 } } });
  const create = $api.useMutation("post", "/v1/group-rules", { onSettled: refresh });
  const remove = $api.useMutation("delete", "/v1/group-rules/{id}", { onSettled: refresh });
  const [form, setForm] = useState<RuleIn>(EMPTY);
  const providers = options.data?.providers ?? [];
  const provider = form.provider || providers[0]?.name || "";

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = form.platform_admin
      ? { provider, group: form.group.trim(), platform_admin: true }
      : { provider, group: form.group.trim(), tenant: form.tenant, role: form.role };
    try {
      await create.mutateAsync({ body });
      notifications.show({ color: "green", message: `Members of ${form.group} get it at their next sign-in.` });
      setForm({ ...EMPTY, provider });
    } catch {
      // shown below
    }
  }

  async function drop(id: string, group: string) {
    try {
      await remove.mutateAsync({ params: { path: { id } } });
      notifications.show({ color: "green", message: `Rule for ${group} removed; what it granted goes at the next sign-in.` });
    } catch (err) {
      notifications.show({ color: "red", title: "Not removed", message: describeError(err) });
    }
  }

  const errors = fieldErrors(create.error);
  if (options.data && providers.length === 0)
    return (
      <>
        <PageHeader title="Group rules" />
        <Text>No identity provider is configured (PGPLANE_OIDC_PROVIDERS_FILE), so there are no groups to map.</Text>
      </>
    );
  return (
    <>
      <PageHeader title="Group rules" description="What a group of your identity provider grants: platform admin, or a role in a tenant. Applied at each sign-in." />
      <Card withBorder padding="lg" mb="lg" component="form" onSubmit={(e) => void submit(e)} noValidate aria-label="Add a group rule">
        <Group align="flex-start" gap="sm">
          <Select
            label="Provider"
            data={providers.map((p) => ({ value: p.name, label: p.display_name }))}
            value={provider}
            onChange={(v) => setForm({ ...form, provider: v ?? "" })}
            error={errors.provider}
            allowDeselect={false}
            w={180}
          />
          <TextInput label="Group" value={form.group} onChange={(e) => setForm({ ...form, group: e.currentTarget.value })} error={errors.group} required w={200} />
          {!form.platform_admin && (
            <>
              <Select
                label="Tenant"
                data={(tenants.data?.items ?? []).map((t) => t.name)}
                value={form.tenant ?? null}
                onChange={(v) => setForm({ ...form, tenant: v })}
                error={errors.tenant}
                searchable
                w={180}
              />
              <Select label="Role" data={[...TENANT_ROLES]} value={form.role ?? null} onChange={(v) => setForm({ ...form, role: v as RuleIn["role"] })} error={errors.role} w={140} />
            </>
          )}
        </Group>
        <Group mt="sm" justify="space-between">
          <Checkbox
            label="Grants platform administrator"
            checked={form.platform_admin ?? false}
            onChange={(e) => setForm({ ...form, platform_admin: e.currentTarget.checked })}
          />
          <Button type="submit" leftSection={<IconPlus size={16} aria-hidden />} loading={create.isPending}>
            Add rule
          </Button>
        </Group>
        {create.error != null && Object.keys(errors).length === 0 && (
          <div style={{ marginTop: 12 }}>
            <ErrorAlert error={create.error} title="Not added" />
          </div>
        )}
      </Card>
      <Card withBorder padding="md">
        {rules.error && <ErrorAlert error={rules.error} />}
        {rules.isPending ? (
          <Loading />
        ) : (
          <Table verticalSpacing="sm" aria-label="Group rules">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Provider</Table.Th>
                <Table.Th>Group</Table.Th>
                <Table.Th>Grants</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(rules.data?.items ?? []).map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{r.provider}</Table.Td>
                  <Table.Td>{r.group}</Table.Td>
                  <Table.Td>{r.platform_admin ? <Badge variant="light">platform admin</Badge> : `${r.role ?? ""} in ${r.tenant ?? ""}`}</Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="subtle" color="red" onClick={() => void drop(r.id, r.group)} aria-label={`Remove the rule for ${r.group}`}>
                      Remove
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
