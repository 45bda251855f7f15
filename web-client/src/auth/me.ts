// Who is signed in, which tenants they can switch between, and their role in each.
import { useApi } from "./AuthProvider";
import type { Role } from "../lib/permissions";

export function useMe() {
  return useApi().useQuery("get", "/v1/me", {}, { staleTime: 30_000 });
}

export function isPlatformAdmin(me: ReturnType<typeof useMe>["data"]): boolean {
  return me?.user?.is_platform_admin === true;
}

export interface TenantChoice {
  name: string;
  role: Role;
}

/** The tenants the person can act in: their memberships, or every tenant for platform admins. */
export function useTenantChoices(): { tenants: TenantChoice[]; loading: boolean } {
  const $api = useApi();
  const me = useMe();
  const admin = isPlatformAdmin(me.data);
  const all = $api.useQuery("get", "/v1/tenants", { params: { query: { page_size: 500 } } }, { enabled: admin });
  if (me.isPending || (admin && all.isPending)) return { tenants: [], loading: true };
  if (admin) {
    return { tenants: (all.data?.items ?? []).map((t) => ({ name: t.name, role: "platform_admin" })), loading: false };
  }
  const tenants = (me.data?.tenants ?? []).map((t) => ({ name: t.tenant, role: t.role as Role }));
  return { tenants, loading: false };
}

/** The person's role in `tenant`, or undefined while loading / when they have none. */
export function useRole(tenant: string | undefined): Role | undefined {
  const me = useMe();
  if (!me.data || !tenant) return undefined;
  if (isPlatformAdmin(me.data)) return "platform_admin";
  return me.data.tenants.find((t) => t.tenant === tenant)?.role as Role | undefined;
}
