/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a local `pgplane dev`, so the portal runs same-origin as in
// production (no CORS settings needed).
const api = process.env.PGPLANE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/v1": api, "/openapi.json": api, "/docs": api },
  },
  // No source maps in the build: pgplane serves dist/ publicly (and refuses `*.map` anyway).
  build: { sourcemap: false, chunkSizeWarningLimit: 1500 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // Typing into forms is slow on a busy 2-core CI machine; the default 5 s is too tight.
    testTimeout: 20_000,
  },
});
