// A JSON merge patch of one cluster (PATCH .../clusters/{cluster}), answered 202 + operation.
import { useQueryClient } from "@tanstack/react-query";
import { useApi } from "../../auth/AuthProvider";
import { MERGE_PATCH, type ClusterRequest, type Operation } from "../../api/client";

export type ClusterPatch = Partial<Omit<ClusterRequest, "name">>;

export function usePatchCluster(tenant: string, cluster: string) {
  const $api = useApi();
  const queryClient = useQueryClient();
  const mutation = $api.useMutation("patch", "/v1/tenants/{tenant}/clusters/{cluster}", {
    onSettled: () => queryClient.invalidateQueries(),
  });
  return {
    ...mutation,
    patch: (body: ClusterPatch): Promise<Operation> =>
      mutation.mutateAsync({
        params: { path: { tenant, cluster } },
        // The spec types the body as "any object"; ClusterPatch is the real shape.
        body: body as never,
        headers: MERGE_PATCH,
      }) as Promise<Operation>,
  };
}
