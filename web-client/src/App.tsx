// Routes. Everything but sign-in needs a session; tenant screens live under /t/:tenant.
import { Navigate, Route, Routes, useLocation } from "react-router";
import { Center, Loader } from "@mantine/core";
import { useAuth } from "./auth/AuthProvider";
import { SignIn } from "./pages/SignIn";
import { Shell } from "./components/Shell";
import { Dashboard } from "./pages/Dashboard";
import { Clusters } from "./pages/Clusters";
import { CreateCluster } from "./pages/CreateCluster";
import { ClusterDetail } from "./pages/ClusterDetail";
import { Members } from "./pages/Members";
import { AuditLog } from "./pages/AuditLog";
import { ApiKeys } from "./pages/ApiKeys";
import { AdminTenants } from "./pages/admin/Tenants";
import { AdminUsers } from "./pages/admin/Users";
import { AdminGroupRules } from "./pages/admin/GroupRules";
import { NotFound } from "./pages/NotFound";
import { useTenantChoices } from "./auth/me";
import { NoTenant } from "./pages/NoTenant";

function RequireSession({ children }: { children: React.ReactNode }) {
  const { session, checking } = useAuth();
  const location = useLocation();
  if (!session && checking)
    return (
      <Center h="50vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (!session) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

/** `/`: the first tenant the person can use, or a page saying they have none. */
function Home() {
  const { tenants, loading } = useTenantChoices();
  if (loading)
    return (
      <Center h="50vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  const first = tenants[0];
  return first ? <Navigate to={`/t/${first.name}`} replace /> : <NoTenant />;
}

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignIn />} />
      <Route
        element={
          <RequireSession>
            <Shell />
          </RequireSession>
        }
      >
        <Route index element={<Home />} />
        <Route path="t/:tenant" element={<Dashboard />} />
        <Route path="t/:tenant/clusters" element={<Clusters />} />
        <Route path="t/:tenant/clusters/new" element={<CreateCluster />} />
        <Route path="t/:tenant/clusters/:cluster" element={<ClusterDetail />} />
        <Route path="t/:tenant/members" element={<Members />} />
        <Route path="t/:tenant/audit" element={<AuditLog />} />
        <Route path="t/:tenant/api-keys" element={<ApiKeys />} />
        <Route path="account/api-keys" element={<ApiKeys />} />
        <Route path="admin/tenants" element={<AdminTenants />} />
        <Route path="admin/users" element={<AdminUsers />} />
        <Route path="admin/group-rules" element={<AdminGroupRules />} />
        <Route path="admin/audit" element={<AuditLog />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
