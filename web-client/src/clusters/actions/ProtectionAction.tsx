// Turn deletion protection on or off (a spec change like any other).
import { Switch } from "@mantine/core";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { ActionProps } from "./types";
import { refusalOf } from "../allowance";
import { usePatchCluster } from "./usePatchCluster";

export function ProtectionAction({ tenant, cluster, onStarted }: ActionProps) {
  const patch = usePatchCluster(tenant, cluster.name);

  async function protect(on: boolean) {
    try {
      onStarted(await patch.patch({ deletion_protection: on }));
    } catch {
      // shown below
    }
  }

  return (
    <>
      <Switch
        label="Deletion protection"
        checked={cluster.spec.deletion_protection}
        disabled={!cluster.allowed_actions.update.allowed || patch.isPending}
        title={refusalOf(cluster.allowed_actions.update)}
        onChange={(e) => void protect(e.currentTarget.checked)}
      />
      <ErrorAlert error={patch.error} />
    </>
  );
}
