// POST of a day-2 action (backup, restore, switchover, ...): answered 202 + operation.
import { useQueryClient } from "@tanstack/react-query";
import { useApi } from "../../auth/AuthProvider";

export function useInvalidateAll() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries();
}

export function useBackupNow() {
  return useApi().useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/backups", { onSettled: useInvalidateAll() });
}

export function useRestore() {
  return useApi().useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/restore", { onSettled: useInvalidateAll() });
}

export function useSwitchover() {
  return useApi().useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/switchover", { onSettled: useInvalidateAll() });
}

export function useUpgrade() {
  return useApi().useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/upgrade", { onSettled: useInvalidateAll() });
}

export function usePromote() {
  return useApi().useMutation("post", "/v1/tenants/{tenant}/clusters/{cluster}/promote", { onSettled: useInvalidateAll() });
}
