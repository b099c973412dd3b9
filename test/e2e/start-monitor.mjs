/**
 * `npm start` for an end-to-end test: a free port on 127.0.0.1 (and its own inspector port:
 * wrangler's default 9229 may be taken by another dev server), a fresh temp state folder, no
 * crons; waits until the keys are printed. `stop()` ends the process group and removes the state.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/lib/server.mjs";
import { childEnv } from "./child-env.mjs";

/** Starts the monitor; answers its base URL, its ingest and read keys, its output so far and `stop()`. */
export async function startMonitor(name, timeoutMs = 90_000) {
  const stateDir = mkdtempSync(join(tmpdir(), `edge-monitor-e2e-${name}-`));
  const port = await freePort();
  const child = spawn("npm", ["start", "--", "--inspector-port", String(await freePort())], {
    env: childEnv({ PORT: String(port), MONITOR_STATE_DIR: stateDir, MONITOR_CRONS: "off" }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = () => {
    if (child.exitCode === null) process.kill(-child.pid, "SIGINT");
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/read key: +\S+/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`npm start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    ingestKey: /ingest key: +(\S+)/.exec(output)?.[1],
    readKey: /read key: +(\S+)/.exec(output)?.[1],
    output: () => output,
    stop,
  };
}
