// The top of a standby's page: what it follows (a link to the source), that it is read-only, and
// for roles that may change clusters the way out of it: Promote.
import { Alert, Anchor, Group, Text } from "@mantine/core";
import { Link } from "react-router";
import type { ActionProps } from "./actions/types";
import { PromoteAction } from "./actions/PromoteAction";
import { standbySource } from "./standby";

export function StandbyBanner({ mutate, ...props }: ActionProps & { mutate: boolean }) {
  const { tenant, cluster } = props;
  const source = standbySource(cluster);
  if (!source) return null;
  return (
    <Alert
      color="violet"
      variant="light"
      mb="lg"
      role="status"
      data-testid="standby-banner"
      title={
        <>
          Standby of{" "}
          <Anchor component={Link} to={`/t/${tenant}/clusters/${source}`} inherit>
            {source}
          </Anchor>{" "}
          · read-only
        </>
      }
    >
      <Group justify="space-between" align="center" gap="sm">
        <Text size="sm" style={{ flex: 1, minWidth: 240 }}>
          It follows {source} by streaming replication and accepts no writes. Promote it to make it a writable primary,
          for example when {source} is lost.
        </Text>
        {mutate && <PromoteAction {...props} />}
      </Group>
    </Alert>
  );
}
