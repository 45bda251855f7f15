// A tenant's overview: quota usage as bars and the latest operations, kept fresh.
import { Button, Card, Grid, Title } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { Link, useParams } from "react-router";
import { useApi } from "../auth/AuthProvider";
import { useRole } from "../auth/me";
import { can } from "../lib/permissions";
import { PageHeader } from "../components/PageHeader";
import { QuotaBars } from "../components/QuotaBars";
import { OperationsTable, hasActive } from "../components/OperationsTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";

export function Dashboard() {
  const { tenant = "" } = useParams();
  const $api = useApi();
  const role = useRole(tenant);
  const path = { params: { path: { tenant } } };
  const info = $api.useQuery("get", "/v1/tenants/{tenant}", path);
  const quota = $api.useQuery("get", "/v1/tenants/{tenant}/quota", path, { refetchInterval: 10_000 });
  const ops = $api.useQuery(
    "get",
    "/v1/tenants/{tenant}/operations",
    { params: { path: { tenant }, query: { page_size: 8 } } },
    { refetchInterval: (q) => (hasActive(q.state.data?.items) ? 2_000 : 10_000) },
  );

  return (
    <>
      <PageHeader
        title={info.data?.display_name || tenant}
        description={`Tenant ${tenant}${info.data?.suspended ? " · suspended" : ""}`}
        actions={
          can(role, "manage_clusters") && (
            <Button component={Link} to={`/t/${tenant}/clusters/new`} leftSection={<IconPlus size={16} aria-hidden />}>
              New cluster
            </Button>
          )
        }
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 5 }}>
        <Card withBorder padding="lg" component="section" aria-labelledby="quota-title">
          <Title order={2} size="h4" mb="md" id="quota-title">
            Quota usage
          </Title>
          {quota.error ? <ErrorAlert error={quota.error} /> : quota.data ? <QuotaBars quota={quota.data} /> : <Loading />}
        </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 7 }}>
        <Card withBorder padding="lg" component="section" aria-labelledby="ops-title">
          <Title order={2} size="h4" mb="md" id="ops-title">
            Recent operations
          </Title>
          {ops.error ? (
            <ErrorAlert error={ops.error} />
          ) : ops.data ? (
            <OperationsTable tenant={tenant} operations={ops.data.items} />
          ) : (
            <Loading />
          )}
        </Card>
        </Grid.Col>
      </Grid>
    </>
  );
}
