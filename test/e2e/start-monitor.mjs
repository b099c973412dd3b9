// @ts-check
/**
 * The one way the end-to-end tests and the benches (capacity, soak, cold start) start the
 * monitor: `npm start` on a free port on 127.0.0.1 (and its own inspector port: wrangler's default
 * 9229 may be taken by another dev server), a fresh temp state folder, no crons unless asked;
 * waits until the keys are printed. `stop()` ends
 * the whole process group (npm -> start.mjs -> serve-direct or wrangler -> workerd), waits until
 * it is gone, and removes the temp folder. `startNpm` is the spawn-and-wait part, also used by the
 * demo's test.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
 * first. Answers the child, its output so far, `readyMs` (from the spawn to the output that made
 * `ready` hold, stamped as it arrives) and `stop()` (SIGINT to the group, SIGKILL after 5 s).
 * Options for the benches: `logPath` (the output also goes there, each line prefixed with the
 * seconds since the spawn), `maxOutput` (keep at most this many characters in memory), `onSpawn`
 * (called with the child at once, e.g. to kill its group if the caller is interrupted while waiting).
 * @param {string[]} args
 * @param {{ env?: Record<string, string>; cwd?: string; ready: (output: string) => boolean; timeoutMs?: number; logPath?: string; maxOutput?: number; onSpawn?: (child: import("node:child_process").ChildProcess) => void }} options
 */
export async function startNpm(
  args,
  { env = {}, cwd = ROOT, ready, timeoutMs = 120_000, logPath, maxOutput = Infinity, onSpawn },
) {
  const log = logPath ? createWriteStream(logPath) : null;
  const spawnedAt = performance.now();
  const child = spawn("npm", args, { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  onSpawn?.(child);
  let output = "";
  let partial = "";
  /** @type {number | null} */
  let readyMs = null;
  /** @type {(up: boolean) => void} */
  let settle = () => {};
  const settled = new Promise((/** @type {(up: boolean) => void} */ resolve) => (settle = resolve));
  const onData = (/** @type {Buffer} */ d) => {
    const seconds = ((performance.now() - spawnedAt) / 1000).toFixed(1);
    if (output.length < maxOutput) output += d;
    if (log) {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) log.write(`[${seconds}s] ${line}\n`);
    }
    if (readyMs === null && ready(output)) {
      readyMs = performance.now() - spawnedAt;
      settle(true);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  // The last output may follow the exit by a moment: let it in, for the error below.
  child.on("exit", () => setTimeout(() => settle(false), 100));
  child.on("error", () => settle(false));
  const timer = setTimeout(() => settle(false), timeoutMs);
  // Spawned detached, the child leads its own group (a spawn without a pid fails: settled false).
  const stop = async () => {
    const gone = await stopGroup(/** @type {number} */ (child.pid), "SIGINT", 5_000);
    log?.end();
    return gone;
  };
  const up = await settled;
  clearTimeout(timer);
  if (!up || readyMs === null) {
    await stop();
    throw new Error(`npm ${args.join(" ")} did not come up:\n${output}`);
  }
  return { child, output: () => output, readyMs, stop };
}

/** What `startMonitor` answers (for the tests that keep it in a variable). @typedef {Awaited<ReturnType<typeof startMonitor>>} Monitor */

/**
 * Starts the monitor for the test `name`. Options: `crons` (default false: MONITOR_CRONS=off),
 * `server` ("direct" or "wrangler": MONITOR_SERVER; default npm start's own), `vars` (`--var
 * NAME:VALUE` flags), `snapshot` (project entries to copy into the temp folder and run from, so
 * that edits made during the run cannot reload the worker), `timeoutMs`; for the benches: `env`
 * (more environment for npm start and so for workerd), `port` (default a free one), `stateDir`
 * (a state folder of the caller's, kept at stop; default a fresh temp one, removed),
 * `inspector` (default true: an inspector port of its own; false passes none), and startNpm's
 * `logPath`, `maxOutput` and `onSpawn`. Answers its base URL, its keys (`keys.ingest`,
 * `keys.read`, `keys.admin`, also as `ingestKey`, `readKey`, `adminKey`), its state folder, its
 * inspector port (0 for none), `readyMs` (spawn to the keys printed), its output so far, the npm
 * process (`child`, whose pid leads the group) and `stop()`.
 * @param {string} name
 * @param {{ crons?: boolean; server?: "direct" | "wrangler"; vars?: Record<string, string>; snapshot?: string[]; timeoutMs?: number; env?: Record<string, string>; port?: number; stateDir?: string; inspector?: boolean; logPath?: string; maxOutput?: number; onSpawn?: (child: import("node:child_process").ChildProcess) => void }} [options]
 */
export async function startMonitor(
  name,
  {
    crons = false,
    server,
    vars = {},
    snapshot,
    timeoutMs,
    env: extraEnv = {},
    port: fixedPort,
    stateDir: givenStateDir,
    inspector = true,
    logPath,
    maxOutput,
    onSpawn,
  } = {},
) {
  // A temp folder for the state and the snapshot; none when the caller brings the state and no snapshot.
  const root = givenStateDir && !snapshot ? null : mkdtempSync(join(tmpdir(), `edge-monitor-e2e-${name}-`));
  const stateDir = givenStateDir ?? join(/** @type {string} */ (root), "state");
  if (!givenStateDir) mkdirSync(stateDir);
  const removeRoot = () => root && rmSync(root, { recursive: true, force: true });
  try {
    const cwd = snapshot && root ? join(root, "app") : ROOT;
    if (snapshot) await snapshotProject(ROOT, cwd, snapshot);
    const port = fixedPort ?? (await freePort());
    const inspectorPort = inspector ? await freePort() : 0;
    const varFlags = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    const env = {
      ...extraEnv,
      PORT: String(port),
      MONITOR_STATE_DIR: stateDir,
      ...(crons ? {} : { MONITOR_CRONS: "off" }),
      ...(server ? { MONITOR_SERVER: server } : {}),
    };
    const startArgs = [...(inspectorPort ? ["--inspector-port", String(inspectorPort)] : []), ...varFlags];
    const started = await startNpm(["start", ...(startArgs.length ? ["--", ...startArgs] : [])], {
      env,
      cwd,
      ready: (text) => /read key: +\S+/.test(text),
      timeoutMs,
      logPath,
      maxOutput,
      onSpawn,
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
      inspectorPort,
      readyMs: started.readyMs,
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
