// Clone: a new cluster from this one's backups. It is a create, so it opens the create form
// with this cluster as the source (where size, quota headroom and errors are shown).
import { Button } from "@mantine/core";
import { IconCopy } from "@tabler/icons-react";
import { Link } from "react-router";
import type { ActionProps } from "./types";

export function CloneAction({ tenant, cluster }: ActionProps) {
  if (!cluster.spec.backups.enabled) return null;
  return (
    <Button
      component={Link}
      to={`/t/${tenant}/clusters/new?clone=${encodeURIComponent(cluster.name)}`}
      variant="default"
      leftSection={<IconCopy size={16} aria-hidden />}
    >
      Clone
    </Button>
  );
}
