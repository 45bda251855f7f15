// Starts tests/src/bin/e2e-server (a real pgplane with the simulated Kubernetes operator,
// serving ../dist) and returns the URL and credentials it prints. The server exits when its
// stdin closes, so it never outlives this process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");

function serverBinary() {
  if (process.env.E2E_SERVER) return process.env.E2E_SERVER;
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, "target");
  return join(target, "debug", "e2e-server");
}

/** `serveArgs`: more `pgplane serve` flags (e.g. an identity provider). */
export async function startServer({ serveArgs = [] } = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`${bin} not built: run \`cargo build -p pgplane-tests --bin e2e-server\``);
  const dist = join(repo, "web-client", "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error("web-client/dist not built: run `npm run build`");
  const child = spawn(bin, [dist], { cwd: repo, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn", E2E_SERVE_ARGS: JSON.stringify(serveArgs) } });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise((resolveInfo, reject) => {
    const timer = setTimeout(() => reject(new Error(`e2e-server printed nothing in 120 s:\n${stderr}`)), 120_000);
    child.once("exit", (code) => reject(new Error(`e2e-server exited with ${code}:\n${stderr}`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolveInfo(JSON.parse(line));
      } catch (e) {
        reject(new Error(`e2e-server printed ${line}: ${e}`));
      }
    });
  });
  return {
    ...info,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
