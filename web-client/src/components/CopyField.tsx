// A read-only value with a copy-to-clipboard button (connection strings, new API keys).
import { ActionIcon, CopyButton, Group, Code, Tooltip } from "@mantine/core";
import { IconCheck, IconCopy } from "@tabler/icons-react";

export function CopyField({ value, label }: { value: string; label: string }) {
  return (
    <Group gap="xs" wrap="nowrap" align="center">
      <Code
        block
        style={{ flex: 1, minWidth: 0, overflowX: "auto", whiteSpace: "nowrap" }}
        aria-label={label}
        // Long values scroll sideways; keyboard users need to reach them to scroll.
        tabIndex={0}
        data-testid={`value-${label}`}
      >
        {value}
      </Code>
      <CopyButton value={value} timeout={2000}>
        {({ copied, copy }) => (
          <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
            <ActionIcon
              variant="light"
              color={copied ? "teal" : "gray"}
              onClick={copy}
              aria-label={copied ? `${label} copied` : `Copy ${label}`}
              size="lg"
            >
              {copied ? <IconCheck size={18} aria-hidden /> : <IconCopy size={18} aria-hidden />}
            </ActionIcon>
          </Tooltip>
        )}
      </CopyButton>
    </Group>
  );
}
