// @ts-check
/**
 * The one way the end-to-end tests start the monitor: `npm start` on a free port on 127.0.0.1
 * (and its own inspector port: wrangler's default 9229 may be taken by another dev server), a
 * fresh temp state folder, no crons unless asked; waits until the keys are printed. `stop()` ends
 * the whole process group (npm -> start.mjs -> serve-direct or wrangler -> workerd), waits until
 * it is gone, and removes the temp folder. `startNpm` is the spawn-and-wait part, also used by the
 * demo's test.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, snapshotProject } from "../../bench/lib/server.mjs";
import { stopGroup } from "../../sim/processes.mjs";
import { childEnv } from "./child-env.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Runs `npm <args>` in its own process group with `env` added to ours (see childEnv) and waits
 * until `ready(output)` holds; throws with the output when it exits or `timeoutMs` passes
 * first. Answers the child, its output so far and `stop()` (SIGINT to the group, SIGKILL after 5 s).
 * @param {string[]} args
 * @param {{ env?: Record<string, string>; cwd?: string; ready: (output: string) => boolean; timeoutMs?: number }} options
 */
export async function startNpm(args, { env = {}, cwd = ROOT, ready, timeoutMs = 120_000 }) {
  const child = spawn("npm", args, { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  // Spawned detached, the child leads its own group (a spawn without a pid fails at the first check below).
  const stop = () => stopGroup(/** @type {number} */ (child.pid), "SIGINT", 5_000);
  const deadline = Date.now() + timeoutMs;
  while (!ready(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`npm ${args.join(" ")} did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => output, stop };
}

/** What `startMonitor` answers (for the tests that keep it in a variable). @typedef {Awaited<ReturnType<typeof startMonitor>>} Monitor */

/**
 * Starts the monitor for the test `name`. Options: `crons` (default false: MONITOR_CRONS=off),
 * `server` ("direct" or "wrangler": MONITOR_SERVER; default npm start's own), `vars` (`--var
 * NAME:VALUE` flags), `snapshot` (project entries to copy into the temp folder and run from, so
 * that edits made during the run cannot reload the worker), `timeoutMs`. Answers its base URL,
 * its keys (`keys.ingest`, `keys.read`, `keys.admin`, also as `ingestKey`, `readKey`, `adminKey`),
 * its state folder, its output so far, the npm process (`child`) and `stop()`.
 * @param {string} name
 * @param {{ crons?: boolean; server?: "direct" | "wrangler"; vars?: Record<string, string>; snapshot?: string[]; timeoutMs?: number }} [options]
 */
export async function startMonitor(name, { crons = false, server, vars = {}, snapshot, timeoutMs } = {}) {
  const root = mkdtempSync(join(tmpdir(), `edge-monitor-e2e-${name}-`));
  const stateDir = join(root, "state");
  mkdirSync(stateDir);
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  try {
    const cwd = snapshot ? join(root, "app") : ROOT;
    if (snapshot) await snapshotProject(ROOT, cwd, snapshot);
    const port = await freePort();
    const varFlags = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    const env = {
      PORT: String(port),
      MONITOR_STATE_DIR: stateDir,
      ...(crons ? {} : { MONITOR_CRONS: "off" }),
      ...(server ? { MONITOR_SERVER: server } : {}),
    };
    const started = await startNpm(["start", "--", "--inspector-port", String(await freePort()), ...varFlags], {
      env,
      cwd,
      ready: (text) => /read key: +\S+/.test(text),
      timeoutMs,
    });
    const output = started.output();
    const keys = {
      ingest: /ingest key: +(\S+)/.exec(output)?.[1],
      read: /read key: +(\S+)/.exec(output)?.[1],
      admin: /admin key: +(\S+)/.exec(output)?.[1],
    };
    return {
      url: `http://127.0.0.1:${port}`,
      keys,
      ingestKey: keys.ingest,
      readKey: keys.read,
      adminKey: keys.admin,
      stateDir,
      child: started.child,
      output: started.output,
      stop: async () => {
        await started.stop();
        removeRoot();
      },
    };
  } catch (err) {
    removeRoot();
    throw err;
  }
}
