// The frame around every signed-in screen: header with tenant switcher and account menu, a
// navigation bar (collapsible below tablet-landscape width), and the screen itself.
import { AppShell, Burger, Button, Group, Menu, NavLink, ScrollArea, Select, Text, Title, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import {
  IconDatabase,
  IconGauge,
  IconKey,
  IconListDetails,
  IconLogout,
  IconUsers,
  IconUsersGroup,
  IconBuilding,
  IconUserCog,
  IconChevronDown,
} from "@tabler/icons-react";
import { Link, Outlet, useLocation, useMatch, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { isPlatformAdmin, useMe, useRole, useTenantChoices } from "../auth/me";
import { can } from "../lib/permissions";

function TenantSwitcher({ current }: { current: string | undefined }) {
  const { tenants } = useTenantChoices();
  const navigate = useNavigate();
  if (tenants.length === 0) return null;
  return (
    <Select
      aria-label="Tenant"
      placeholder="Choose a tenant"
      data={tenants.map((t) => t.name)}
      value={current ?? null}
      onChange={(value) => {
        if (value) void navigate(`/t/${value}`);
      }}
      allowDeselect={false}
      searchable={tenants.length > 8}
      w={{ base: 150, sm: 220 }}
      comboboxProps={{ withinPortal: true }}
    />
  );
}

function AccountMenu() {
  const { signOut } = useAuth();
  const me = useMe();
  const navigate = useNavigate();
  const who = me.data?.user?.email ?? "Account";
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton aria-label={`Account menu for ${who}`}>
          <Group gap={4}>
            <Text size="sm" visibleFrom="sm">
              {who}
            </Text>
            <IconChevronDown size={16} aria-hidden />
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Item leftSection={<IconKey size={16} aria-hidden />} onClick={() => void navigate("/account/api-keys")}>
          My API keys
        </Menu.Item>
        <Menu.Item
          color="red"
          leftSection={<IconLogout size={16} aria-hidden />}
          onClick={() => {
            signOut();
            void navigate("/sign-in");
          }}
        >
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

export function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const match = useMatch("/t/:tenant/*");
  const tenant = match?.params.tenant;
  const role = useRole(tenant);
  const me = useMe();
  const admin = isPlatformAdmin(me.data);

  const link = (to: string, label: string, icon: React.ReactNode, exact = false) => {
    const active = exact ? location.pathname === to : location.pathname.startsWith(to);
    return (
      <NavLink
        key={to}
        component={Link}
        to={to}
        label={label}
        leftSection={icon}
        active={active}
        aria-current={active ? "page" : undefined}
        onClick={close}
      />
    );
  };

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 230, breakpoint: "md", collapsed: { mobile: !opened } }}
      padding="lg"
    >
      <AppShell.Header>
        <a href="#content" className="skip-link">
          Skip to content
        </a>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="md" size="sm" aria-label="Toggle navigation" />
            <Button component={Link} to="/" variant="subtle" px={4} aria-label="pgplane home">
              <Title order={3} c="blue.8">
                pgplane
              </Title>
            </Button>
            <TenantSwitcher current={tenant} />
          </Group>
          <AccountMenu />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Main navigation">
        <AppShell.Section grow component={ScrollArea}>
          {tenant && (
            <>
              <Text size="xs" c="dimmed" fw={600} tt="uppercase" px="sm" pb={4}>
                {tenant}
              </Text>
              {link(`/t/${tenant}`, "Overview", <IconGauge size={18} aria-hidden />, true)}
              {link(`/t/${tenant}/clusters`, "Clusters", <IconDatabase size={18} aria-hidden />)}
              {link(`/t/${tenant}/members`, "Members", <IconUsers size={18} aria-hidden />)}
              {can(role, "view_audit") && link(`/t/${tenant}/audit`, "Audit log", <IconListDetails size={18} aria-hidden />)}
              {can(role, "manage_api_keys") && link(`/t/${tenant}/api-keys`, "Service keys", <IconKey size={18} aria-hidden />)}
            </>
          )}
          {admin && (
            <>
              <Text size="xs" c="dimmed" fw={600} tt="uppercase" px="sm" pt="md" pb={4}>
                Platform
              </Text>
              {link("/admin/tenants", "Tenants & quotas", <IconBuilding size={18} aria-hidden />)}
              {link("/admin/users", "Users", <IconUserCog size={18} aria-hidden />)}
              {link("/admin/group-rules", "Group rules", <IconUsersGroup size={18} aria-hidden />)}
              {link("/admin/audit", "Platform audit", <IconListDetails size={18} aria-hidden />)}
            </>
          )}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>
        <div id="content" tabIndex={-1} style={{ maxWidth: 1200, outline: "none" }}>
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}
