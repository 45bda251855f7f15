import { Stack, Text, Title } from "@mantine/core";

export function NoTenant() {
  return (
    <Stack>
      <Title order={1}>No tenant yet</Title>
      <Text c="dimmed">
        You are not a member of any tenant. Ask a tenant owner or a platform administrator to add you.
      </Text>
    </Stack>
  );
}
