// The create-cluster form: presets, HA, version, where it starts from (empty, a clone or a
// standby of another cluster), storage, backups and pooler; the quota headroom
// this request leaves, shown before submitting; the API's field errors next to their fields.
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Grid,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { CloneSource } from "../clusters/CloneSource";
import { useApi } from "../auth/AuthProvider";
import { useRole } from "../auth/me";
import { can } from "../lib/permissions";
import { PageHeader } from "../components/PageHeader";
import { QuotaBars, exceededBy } from "../components/QuotaBars";
import { ErrorAlert } from "../components/ErrorAlert";
import { fieldErrors, otherFieldErrors } from "../api/problem";
import { clusterUsage } from "../lib/quantity";
import { PRESETS, VERSIONS, initialForm, presetOf, toRequest, type CreateForm, type PresetName } from "../clusters/presets";

/** Request fields this form has an input for (API error paths). */
const FORM_FIELDS = [
  "name",
  "instances",
  "postgres_version",
  "resources.cpu",
  "resources.memory",
  "storage.size",
  "backups.retention_full",
  "pooler.replicas",
  "source",
  "source.cluster",
  "source.target_time",
  "standby",
  "standby.source",
];

export function CreateCluster() {
  const { tenant = "" } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const navigate = useNavigate();
  const [search] = useSearchParams();
  // "Clone" on a cluster's page links here with ?clone=<name>.
  const [form, setForm] = useState<CreateForm>(() => ({ ...initialForm(), cloneFrom: search.get("clone") }));
  const quota = $api.useQuery("get", "/v1/tenants/{tenant}/quota", { params: { path: { tenant } } });
  const create = $api.useMutation("post", "/v1/tenants/{tenant}/clusters");

  const request = useMemo(() => toRequest(form), [form]);
  const usage = useMemo(() => clusterUsage(request), [request]);
  const over = quota.data ? exceededBy(quota.data, usage) : [];
  const errors = fieldErrors(create.error);
  // `database` and `owner` default to the name, so their errors repeat the name's.
  const others = otherFieldErrors(create.error, [...FORM_FIELDS, "database", "owner"]);
  const onFields = FORM_FIELDS.some((field) => errors[field]);

  const set = <K extends keyof CreateForm>(key: K, value: CreateForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setSize = (key: "cpu" | "memory" | "storage", value: string) =>
    setForm((f) => {
      const next = { ...f, [key]: value };
      return { ...next, preset: presetOf(next) };
    });
  const choosePreset = (preset: PresetName) =>
    setForm((f) => (preset === "custom" ? { ...f, preset } : { ...f, preset, ...PRESETS[preset] }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await create.mutateAsync({ params: { path: { tenant } }, body: request });
      notifications.show({ color: "blue", title: "Cluster requested", message: `${request.name} is being created.` });
      void navigate(`/t/${tenant}/clusters/${request.name}`);
    } catch {
      // Shown from create.error below.
    }
  }

  if (role && !can(role, "manage_clusters")) {
    return <Alert color="yellow">Your role in {tenant} cannot create clusters.</Alert>;
  }

  return (
    <>
      <PageHeader title="New cluster" description={`In tenant ${tenant}. Every setting can be changed later except the name and version.`} />
      <form onSubmit={(e) => void submit(e)} noValidate aria-label="Create cluster">
        <Grid gap="lg">
          <Grid.Col span={{ base: 12, md: 7 }}>
            <Stack gap="lg">
              {create.error && (
                <ErrorAlert
                  error={create.error}
                  title="The cluster was not created"
                  detail={onFields && others.length === 0 ? "Correct the fields marked below and try again." : undefined}
                  extra={others}
                />
              )}
              <Card withBorder padding="lg">
                <Stack>
                  <TextInput
                    label="Name"
                    description="Lowercase letters, digits and hyphens; starts with a letter. Also the database name."
                    required
                    value={form.name}
                    onChange={(e) => set("name", e.currentTarget.value)}
                    error={errors.name}
                    autoFocus
                  />
                  <Select
                    label="PostgreSQL version"
                    description={form.standbyOf !== null ? "A standby runs the version of the cluster it follows." : undefined}
                    data={VERSIONS.map((v) => ({ value: String(v), label: `PostgreSQL ${v}` }))}
                    value={String(form.version)}
                    onChange={(v) => v && set("version", Number(v))}
                    allowDeselect={false}
                    disabled={form.standbyOf !== null}
                    error={errors.postgres_version}
                  />
                </Stack>
              </Card>
              <Card withBorder padding="lg" component="section" aria-labelledby="start-title">
                <Title order={2} size="h4" mb="sm" id="start-title">
                  Start from
                </Title>
                <CloneSource
                  tenant={tenant}
                  source={form.cloneFrom}
                  time={form.cloneTime}
                  standby={form.standbyOf}
                  onChange={({ version, ...start }) => setForm((f) => ({ ...f, ...start, version: version ?? f.version }))}
                  errors={errors}
                />
              </Card>
              <Card withBorder padding="lg">
                <Title order={2} size="h4" mb="sm" id="size-title">
                  Size
                </Title>
                <SegmentedControl
                  fullWidth
                  aria-labelledby="size-title"
                  value={form.preset}
                  onChange={(v) => choosePreset(v)}
                  data={[
                    { value: "small", label: "Small" },
                    { value: "medium", label: "Medium" },
                    { value: "large", label: "Large" },
                    { value: "custom", label: "Custom" },
                  ]}
                />
                <Text size="sm" c="dimmed" mt={6} mb="sm">
                  {form.preset === "custom" ? "Your own size per instance." : PRESETS[form.preset].description}
                </Text>
                <SimpleGrid cols={{ base: 1, sm: 3 }}>
                  <TextInput
                    label="CPU per instance"
                    description="Cores, e.g. 1 or 500m"
                    value={form.cpu}
                    onChange={(e) => setSize("cpu", e.currentTarget.value)}
                    error={errors["resources.cpu"]}
                  />
                  <TextInput
                    label="Memory per instance"
                    description="e.g. 2Gi or 512Mi"
                    value={form.memory}
                    onChange={(e) => setSize("memory", e.currentTarget.value)}
                    error={errors["resources.memory"]}
                  />
                  <TextInput
                    label="Storage per instance"
                    description="e.g. 20Gi; can grow later"
                    value={form.storage}
                    onChange={(e) => setSize("storage", e.currentTarget.value)}
                    error={errors["storage.size"]}
                  />
                </SimpleGrid>
              </Card>
              <Card withBorder padding="lg">
                <Title order={2} size="h4" mb="sm">
                  Availability and features
                </Title>
                <Stack>
                  <Switch
                    label="High availability"
                    description="Standby replicas take over automatically if the primary fails."
                    checked={form.ha}
                    onChange={(e) => set("ha", e.currentTarget.checked)}
                    error={errors.instances}
                  />
                  {form.ha && (
                    <SegmentedControl
                      aria-label="Instances"
                      value={String(form.haInstances)}
                      onChange={(v) => set("haInstances", Number(v) as 2 | 3)}
                      data={[
                        { value: "2", label: "2 instances" },
                        { value: "3", label: "3 instances" },
                      ]}
                      w={280}
                    />
                  )}
                  <Switch
                    label="Backups"
                    description="Weekly full and daily incremental backups, with point-in-time recovery."
                    checked={form.backups}
                    onChange={(e) => set("backups", e.currentTarget.checked)}
                  />
                  {form.backups && (
                    <NumberInput
                      label="Full backups kept"
                      min={1}
                      max={30}
                      value={form.retentionFull}
                      onChange={(v) => set("retentionFull", Number(v) || 1)}
                      error={errors["backups.retention_full"]}
                      w={200}
                    />
                  )}
                  <Switch
                    label="Connection pooler (PgBouncer)"
                    description="For applications that open many short connections."
                    checked={form.pooler}
                    onChange={(e) => set("pooler", e.currentTarget.checked)}
                  />
                  {form.pooler && (
                    <NumberInput
                      label="Pooler replicas"
                      min={1}
                      max={3}
                      value={form.poolerReplicas}
                      onChange={(v) => set("poolerReplicas", Number(v) || 1)}
                      error={errors["pooler.replicas"]}
                      w={200}
                    />
                  )}
                  <Checkbox
                    label="Deletion protection (the cluster cannot be deleted until this is turned off)"
                    checked={form.deletionProtection}
                    onChange={(e) => set("deletionProtection", e.currentTarget.checked)}
                  />
                </Stack>
              </Card>
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 5 }}>
            <Card withBorder padding="lg" pos="sticky" top={80} component="section" aria-labelledby="headroom-title">
              <Title order={2} size="h4" mb={4} id="headroom-title">
                Quota after this cluster
              </Title>
              <Text size="sm" c="dimmed" mb="md">
                Used now, plus what this cluster adds (estimate).
              </Text>
              {quota.data ? <QuotaBars quota={quota.data} extra={usage} /> : <ErrorAlert error={quota.error} />}
              {over.length > 0 && (
                <Alert color="red" mt="md" role="alert" title="Over quota">
                  This cluster would exceed the tenant's {over.join(", ").toLowerCase()} quota. Choose a smaller size or ask a
                  platform administrator for more.
                </Alert>
              )}
              <Group mt="lg" justify="flex-end">
                <Button component={Link} to={`/t/${tenant}/clusters`} variant="default">
                  Cancel
                </Button>
                <Button type="submit" loading={create.isPending} disabled={over.length > 0}>
                  Create cluster
                </Button>
              </Group>
            </Card>
          </Grid.Col>
        </Grid>
      </form>
    </>
  );
}
