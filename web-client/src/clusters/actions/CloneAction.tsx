// Clone: a new cluster from this one's backups. It is a create, so it opens the create form
// with this cluster as the source (where size, quota headroom and errors are shown).
import { Button } from "@mantine/core";
import { IconCopy } from "@tabler/icons-react";
import { Link } from "react-router";
import type { ActionProps } from "./types";
import { controlProps } from "../allowance";

export function CloneAction({ tenant, cluster }: ActionProps) {
  const allowance = cluster.allowed_actions.clone;
  // Refused (a standby, no full backup yet, ...): a button that says why, not a link.
  if (!allowance.allowed) {
    return (
      <Button variant="default" leftSection={<IconCopy size={16} aria-hidden />} {...controlProps(allowance)}>
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
