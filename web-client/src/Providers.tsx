// Theme, notifications, data cache and session: everything a screen needs around it.
import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import {
  MantineProvider,
  createTheme,
  darken,
  defaultVariantColorsResolver,
  parseThemeColor,
  type CSSVariablesResolver,
  type VariantColorsResolver,
} from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { AuthProvider } from "./auth/AuthProvider";
import { isProblem } from "./api/problem";

// Mantine's defaults miss WCAG AA contrast in places (white on blue.6 buttons and links, text of
// "light" badges and alerts, "subtle" buttons): a darker primary shade and darker text there.
const variantColorResolver: VariantColorsResolver = (input) => {
  const colors = defaultVariantColorsResolver(input);
  const parsed = parseThemeColor({ color: input.color || input.theme.primaryColor, theme: input.theme });
  if ((input.variant === "light" || input.variant === "subtle") && parsed.isThemeColor && parsed.shade === undefined) {
    return { ...colors, color: darken(input.theme.colors[parsed.color]![9], 0.3) };
  }
  return colors;
};

export const theme = createTheme({
  primaryColor: "blue",
  primaryShade: { light: 8, dark: 6 },
  variantColorResolver,
  // Modals and menus appear without motion for people who ask their system for less.
  respectReducedMotion: true,
  defaultRadius: "md",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  headings: { fontWeight: "650" },
});

// Mantine's default dimmed grey (gray.6) is below WCAG AA contrast on white; one step darker passes.
const resolver: CSSVariablesResolver = (t) => ({
  variables: {},
  light: { "--mantine-color-dimmed": t.colors.gray[7] },
  dark: {},
});

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // 4xx answers will not change by asking again; a network blip might.
        retry: (count, error) => !(isProblem(error) && error.status < 500) && count < 2,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}

export function Providers({ children, queryClient }: { children: ReactNode; queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? makeQueryClient());
  return (
    <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={resolver}>
      <Notifications position="bottom-right" />
      <QueryClientProvider client={client}>
        <AuthProvider>{children}</AuthProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
