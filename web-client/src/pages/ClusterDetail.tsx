// One cluster: its state, how to connect, what is happening to it (operation timeline), and
// its day-2 actions: shown to roles that may change clusters, each enabled as the server's
// `allowed_actions` says (or disabled with its reason). Everything refreshes while something
// changes. A standby says so at the top, with the cluster it follows and (for who may) Promote.
import { Alert, Anchor, Badge, Button, Card, Grid, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { useRole } from "../auth/me";
import { can } from "../lib/permissions";
import type { Cluster, Operation } from "../api/client";
import { isProblem } from "../api/problem";
import { PageHeader } from "../components/PageHeader";
import { StatusBadge, isInProgress } from "../components/StatusBadge";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { OperationTimeline, operationTitle } from "../components/OperationTimeline";
import { notifications } from "@mantine/notifications";
import { OperationsTable, hasActive } from "../components/OperationsTable";
import { ConnectionPanel } from "../clusters/ConnectionPanel";
import { ClusterActions } from "../clusters/ClusterActions";
import { useOperationNotices } from "../clusters/useOperationNotices";
import { useRefetchWhenIdle } from "../clusters/useRefetchWhenIdle";
import { CancelOperationButton } from "../clusters/CancelOperationButton";
import { BackupsPanel } from "../clusters/BackupsPanel";
import { RolesPanel } from "../clusters/RolesPanel";
import { ExtensionsPanel } from "../clusters/ExtensionsPanel";
import { AdvisorPanel } from "../clusters/AdvisorPanel";
import { StandbyBanner } from "../clusters/StandbyBanner";
import { standbySource } from "../clusters/standby";
import { formatTime } from "../lib/time";

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm">{children}</Text>
    </div>
  );
}

/** The server certificate: when it expires, and whether renewing it fails. */
function CertificateFact({ certificate }: { certificate: Cluster["status"]["certificate"] }) {
  if (!certificate) return <>—</>;
  return (
    <span data-testid="certificate">
      expires {formatTime(certificate.expires_at)}
      {certificate.renewal_error ? (
        <Text span size="sm" c="red" display="block">
          renewal failing: {certificate.renewal_error}
        </Text>
      ) : (
        <Text span size="xs" c="dimmed" display="block">
          renewed automatically before then
        </Text>
      )}
    </span>
  );
}

/** The image the cluster runs, or that the operator picks its default. */
export function imageLabel(image: string | null | undefined): string {
  return image ? image : "operator default";
}

function Overview({ cluster }: { cluster: Cluster }) {
  const { spec, status } = cluster;
  const params = Object.entries(spec.parameters);
  return (
    <SimpleGrid cols={{ base: 2, sm: 3 }} spacing="md" verticalSpacing="md">
      <Fact label="Version">PostgreSQL {spec.postgres_version}</Fact>
      <Fact label="Image">
        <Text span size="sm" ff={status.postgres_image ? "monospace" : undefined} style={{ wordBreak: "break-all" }} data-testid="postgres-image">
          {imageLabel(status.postgres_image)}
        </Text>
      </Fact>
      <Fact label="Instances">
        {status.ready_instances ?? 0} of {spec.instances} ready{spec.instances > 1 ? " (HA)" : ""}
      </Fact>
      <Fact label="Primary">{status.primary_instance ?? "—"}</Fact>
      <Fact label="CPU / memory">
        {spec.resources.cpu} CPU · {spec.resources.memory} each
      </Fact>
      <Fact label="Storage">{spec.storage.size} each</Fact>
      <Fact label="Backups">
        {spec.backups.enabled ? `on · ${spec.backups.retention_full} full kept` : "off"}
      </Fact>
      <Fact label="Pooler">{spec.pooler.enabled ? `PgBouncer × ${spec.pooler.replicas}` : "off"}</Fact>
      <Fact label="TLS certificate">
        <CertificateFact certificate={status.certificate} />
      </Fact>
      <Fact label="Deletion protection">{spec.deletion_protection ? "on" : "off"}</Fact>
      <Fact label="Parameters">
        {params.length === 0 ? "defaults" : params.map(([k, v]) => `${k}=${v}`).join(", ")}
      </Fact>
    </SimpleGrid>
  );
}

export function ClusterDetail() {
  const { tenant = "", cluster: name = "" } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const [started, setStarted] = useState<Operation | null>(null);
  // What the API asked the person to do after an operation it accepted (a promote's "stop writes
  // to the source"): shown until dismissed, since it outlives the operation.
  const [warning, setWarning] = useState<string | null>(null);
  const ops = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/operations",
    { params: { path: { tenant }, query: { cluster: name, page_size: 10 } } },
    { refetchInterval: (q) => (hasActive(q.state.data?.items) || started ? 1_500 : 10_000) },
  );
  const active = hasActive(ops.data?.items);
  const cluster = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/clusters/{cluster}",
    { params: { path: { tenant, cluster: name } } },
    {
      refetchInterval: (q) => (q.state.data && isInProgress(q.state.data.status.phase)) || active ? 1_500 : 5_000,
      retry: false,
    },
  );
  useOperationNotices(ops.data?.items);
  // What an operation kept off the cluster is allowed again once it ends: ask at once.
  useRefetchWhenIdle(active, cluster.refetch);
  const onStarted = (op: Operation) => {
    setStarted(op);
    setWarning(op.warning ?? null);
    notifications.show({
      color: "blue",
      title: `${operationTitle(op)} started`,
      message: op.restart_required
        ? "PostgreSQL restarts to apply this (replicas first, then the primary). Progress is shown on this page."
        : "Progress is shown on this page.",
    });
  };

  if (cluster.isPending) return <Loading />;
  if (cluster.error) {
    const gone = isProblem(cluster.error) && cluster.error.status === 404;
    return (
      <Stack>
        <PageHeader title={name} />
        {gone ? (
          <Alert color={started?.kind === "delete" ? "green" : "yellow"} title={started?.kind === "delete" ? "Deleted" : "Not found"} role="status">
            {started?.kind === "delete" ? `${name} has been deleted. ` : `There is no cluster ${name} in ${tenant}. `}
            <Anchor component={Link} to={`/t/${tenant}/clusters`}>
              Back to clusters
            </Anchor>
          </Alert>
        ) : (
          <ErrorAlert error={cluster.error} />
        )}
      </Stack>
    );
  }

  const c = cluster.data;
  const latest = ops.data?.items[0];
  // Roles that may never change clusters see no controls; for the others, allowed_actions decides.
  const mutate = can(role, "manage_clusters");
  const source = standbySource(c);
  return (
    <>
      <PageHeader
        title={
          <Group gap="sm">
            {c.name}
            <StatusBadge phase={c.status.phase} label={c.name} />
            {c.spec.suspended && <Badge color="gray">suspended</Badge>}
            {source && (
              <Badge color="violet" variant="light">
                standby
              </Badge>
            )}
            {c.site === "recovery" && (
              <Badge color="indigo" variant="outline" title="Runs on the platform's disaster-recovery site">
                recovery site
              </Badge>
            )}
          </Group>
        }
        description={c.status.message ?? `PostgreSQL ${c.spec.postgres_version} in ${tenant}`}
        actions={
          <Button component={Link} to={`/t/${tenant}/clusters`} variant="subtle">
            All clusters
          </Button>
        }
      />
      {warning && (
        <Alert
          color="orange"
          title="Before you move clients"
          mb="lg"
          role="alert"
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => setWarning(null)}
          data-testid="operation-warning"
        >
          {warning}
        </Alert>
      )}
      <StandbyBanner tenant={tenant} cluster={c} onStarted={onStarted} mutate={mutate} />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Stack gap="lg">
            <Card withBorder padding="lg" component="section" aria-labelledby="overview-title">
              <Title order={2} size="h4" mb="md" id="overview-title">
                Overview
              </Title>
              <Overview cluster={c} />
            </Card>
            <Card withBorder padding="lg" component="section" aria-labelledby="connection-title">
              <Title order={2} size="h4" mb="md" id="connection-title">
                Connect
              </Title>
              <ConnectionPanel tenant={tenant} cluster={c} mayReveal={mutate} />
            </Card>
            <Card withBorder padding="lg" component="section" aria-labelledby="roles-title">
              <Title order={2} size="h4" mb="md" id="roles-title">
                Roles
              </Title>
              <RolesPanel tenant={tenant} cluster={c} mutate={mutate} onStarted={onStarted} />
            </Card>
            <Card withBorder padding="lg" component="section" aria-labelledby="extensions-title">
              <Title order={2} size="h4" mb="md" id="extensions-title">
                Extensions
              </Title>
              <ExtensionsPanel tenant={tenant} cluster={c} mutate={mutate} busy={active} onStarted={onStarted} />
            </Card>
            {mutate && (
              <Card withBorder padding="lg" component="section" aria-labelledby="actions-title">
                <Title order={2} size="h4" mb="md" id="actions-title">
                  Actions
                </Title>
                <ClusterActions tenant={tenant} cluster={c} onStarted={onStarted} />
              </Card>
            )}
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Stack gap="lg">
            <Card withBorder padding="lg" component="section" aria-labelledby="progress-title">
              <Title order={2} size="h4" mb="md" id="progress-title">
                Latest operation
              </Title>
              {latest ? <OperationTimeline op={latest} /> : <Text c="dimmed">None yet.</Text>}
              {latest && mutate && <CancelOperationButton op={latest} />}
            </Card>
            <Card withBorder padding="lg" component="section" aria-labelledby="backups-title">
              <Title order={2} size="h4" mb="md" id="backups-title">
                Backups
              </Title>
              <BackupsPanel tenant={tenant} cluster={c} mutate={mutate} busy={active} onStarted={onStarted} />
            </Card>
            <Card withBorder padding="lg" component="section" aria-labelledby="history-title">
              <Title order={2} size="h4" mb="md" id="history-title">
                History
              </Title>
              {ops.data ? <OperationsTable tenant={tenant} operations={ops.data.items} compact /> : <ErrorAlert error={ops.error} />}
            </Card>
          </Stack>
        </Grid.Col>
      </Grid>
      <Card withBorder padding="lg" mt="lg" component="section" aria-labelledby="advisor-title">
        <Title order={2} size="h4" mb="md" id="advisor-title">
          Advisor
        </Title>
        <AdvisorPanel tenant={tenant} cluster={name} canChange={mutate} />
      </Card>
    </>
  );
}
