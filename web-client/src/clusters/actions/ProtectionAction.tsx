// Turn deletion protection on or off (a spec change like any other).
import { Switch } from "@mantine/core";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { ActionProps } from "./types";
import { usePatchCluster } from "./usePatchCluster";

export function ProtectionAction({ tenant, cluster, onStarted, busy }: ActionProps) {
  const patch = usePatchCluster(tenant, cluster.name);
  return (
    <>
      <Switch
        label="Deletion protection"
        checked={cluster.spec.deletion_protection}
        disabled={busy || patch.isPending}
        onChange={async (e) => {
          try {
            onStarted(await patch.patch({ deletion_protection: e.currentTarget.checked }));
          } catch {
            // shown below
          }
        }}
      />
      <ErrorAlert error={patch.error} />
    </>
  );
}
