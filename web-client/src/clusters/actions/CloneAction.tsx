// Clone: a new cluster from this one's backups. It is a create, so it opens the create form
// with this cluster as the source (where size, quota headroom and errors are shown).
import { Button } from "@mantine/core";
import { IconCopy } from "@tabler/icons-react";
import { Link } from "react-router";
import type { ActionProps } from "./types";
import { standbyRefusal } from "../standby";

export function CloneAction({ tenant, cluster }: ActionProps) {
  if (!cluster.spec.backups.enabled) return null;
  // A standby has no backups of its own to copy: a button that says so, not a link.
  const refused = standbyRefusal(cluster);
  if (refused) {
    return (
      <Button variant="default" leftSection={<IconCopy size={16} aria-hidden />} disabled title={refused}>
        Clone
      </Button>
    );
  }
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
