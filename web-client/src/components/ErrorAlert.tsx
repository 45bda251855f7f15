// An API error (problem document or network failure) said plainly, announced to screen readers.
import { Alert, List } from "@mantine/core";
import { IconAlertCircle } from "@tabler/icons-react";
import { describeError, isProblem } from "../api/problem";

export function ErrorAlert({ error, title, extra, detail }: { error: unknown; title?: string; extra?: string[]; detail?: string }) {
  if (!error) return null;
  const heading = title ?? (isProblem(error) ? error.title : "Request failed");
  return (
    <Alert color="red" icon={<IconAlertCircle aria-hidden />} title={heading} role="alert">
      {detail ?? describeError(error)}
      {extra && extra.length > 0 && (
        <List size="sm" mt="xs">
          {extra.map((line) => (
            <List.Item key={line}>{line}</List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
