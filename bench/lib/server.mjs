// @ts-check
/**
 * Starts the worker under `wrangler dev --local` for the benchmark and always stops it again.
 * The child runs in its own process group (npx -> wrangler -> workerd), so stopping it signals
 * the whole group; a signal handler and an exit hook make sure a Ctrl-C or a crash of the
 * bench does not leave workerd running. The worker runs from a snapshot of the project taken
 * at start (node_modules linked), because wrangler dev rebuilds and reloads the worker whenever
 * a source file changes, which would disturb a run. Keys come from a bench-only env file: passing
 * `--env-file` makes wrangler skip `.dev.vars`, and the `--var` flags win over both anyway.
 */
import { spawn, execFile } from "node:child_process";
import { createWriteStream, existsSync, rmSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the worker needs to build and run: copied so that edits during a run do not reload it. */
const SNAPSHOT = ["src", "migrations", "package.json", "tsconfig.json", "wrangler.toml"];

/**
 * Copies `entries` of the project at `cwd` into `appDir` and links its node_modules: a frozen
 * copy that wrangler can build and run while others edit the project.
 * @param {string} cwd
 * @param {string} appDir
 * @param {string[]} [entries]
 */
export async function snapshotProject(cwd, appDir, entries = SNAPSHOT) {
  for (const entry of entries) await cp(join(cwd, entry), join(appDir, entry), { recursive: true });
  await symlink(join(cwd, "node_modules"), join(appDir, "node_modules"), "dir");
  // wrangler.toml serves dashboard/dist as static assets and refuses to start without the folder.
  const dist = join(cwd, "dashboard", "dist");
  if (existsSync(dist)) await cp(dist, join(appDir, "dashboard", "dist"), { recursive: true });
  else {
    await mkdir(join(appDir, "dashboard", "dist"), { recursive: true });
    await writeFile(join(appDir, "dashboard", "dist", "index.html"), "<!doctype html><title>edge-monitor</title>");
  }
}

export const KEYS = { INGEST_KEYS: "bench-ingest", READ_KEY: "bench-read", ADMIN_KEY: "bench-admin" };

const CHILD_ENV = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

/**
 * Asks the OS for a free TCP port on 127.0.0.1, or checks that `port` is free: the readiness
 * check must not end up talking to some other server already listening there.
 * @param {number} [port]
 * @returns {Promise<number>}
 */
export function freePort(port = 0) {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", (/** @type {NodeJS.ErrnoException} */ err) =>
      reject(err.code === "EADDRINUSE" ? new Error(`port ${port} is already in use`) : err),
    );
    srv.listen(port, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** @param {number} pgid */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Applies the D1 migrations to a fresh persist dir, starts `wrangler dev` on it and waits for
 * `/health/ready`. Returns `{ port, baseUrl, logPath, pgid, stop(), cpuSeconds() }`.
 *
 * With `script` (a path below `cwd`), runs that one-file worker instead of the project (no
 * wrangler.toml, no migrations, no keys), named `name`, with `vars` as `--var` flags, ready
 * when `readyPath` answers 200.
 * @param {{ cwd: string; port: number; logPath: string; logLevel: string; readyTimeoutMs?: number; script?: string; name?: string; compatibilityDate?: string; vars?: Record<string, string>; readyPath?: string }} options
 */
export async function startWorker({
  cwd,
  port,
  logPath,
  logLevel,
  readyTimeoutMs = 60_000,
  script,
  name = "bench-worker",
  compatibilityDate = "2026-04-01",
  vars = {},
  readyPath = "/health/ready",
}) {
  const root = await mkdtemp(join(tmpdir(), "edge-monitor-bench-"));
  const persistDir = join(root, "state");
  const appDir = join(root, "app");
  const envFile = join(root, "bench.env");
  await writeFile(
    envFile,
    Object.entries(KEYS)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );

  /** @type {import("node:child_process").ChildProcess | null} */
  let child = null;
  /** @type {import("node:fs").WriteStream | null} */
  let log = null;
  let stopped = false;
  // Last resorts, synchronous: a signal or an exit that skipped stop() still ends wrangler.
  const onExit = () => {
    if (stopped) return;
    stopped = true;
    if (child) signalGroup(/** @type {number} */ (child.pid), "SIGKILL");
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    onExit();
    process.stderr.write(`\nbench: ${signal}, wrangler stopped\n`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child) {
      const pgid = /** @type {number} */ (child.pid);
      signalGroup(pgid, "SIGTERM");
      for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
      if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
    }
    // Let the last lines of wrangler's output reach the log file before it is read.
    const out = log;
    if (out && !out.closed)
      await new Promise(
        (/** @type {(v?: unknown) => void} */ resolve) => (
          out.on("close", () => resolve()),
          setTimeout(resolve, 2_000)
        ),
      );
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
    await rm(root, { recursive: true, force: true });
  };

  try {
    await snapshotProject(cwd, appDir, script ? [script] : SNAPSHOT);
    const wrangler = ["--no", "wrangler"];
    if (!script) {
      await run("npx", [...wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], {
        cwd: appDir,
        env: CHILD_ENV,
        timeout: 600_000, // a loaded machine (2 shared cores) has needed more than 3 minutes
      });
    }
    const inspectorPort = await freePort();
    const varFlags = Object.entries({ ...(script ? {} : KEYS), ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    const entry = script ? [script, "--name", name, "--compatibility-date", compatibilityDate] : [];
    const args = [
      ...wrangler,
      "dev",
      ...entry,
      "--local",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspectorPort),
      "--inspector-ip",
      "127.0.0.1",
      "--persist-to",
      persistDir,
      "--env-file",
      envFile,
      ...varFlags,
      "--log-level",
      logLevel,
      "--show-interactive-dev-session=false",
    ];
    const logStream = createWriteStream(logPath);
    log = logStream;
    const spawned = spawn("npx", args, {
      cwd: appDir,
      env: CHILD_ENV,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = spawned;
    spawned.stdout.pipe(logStream);
    spawned.stderr.pipe(logStream);
    /** @type {number | string | null} */
    let exitCode = null;
    spawned.on("exit", (code, signal) => {
      exitCode = code ?? signal;
    });

    const baseUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exitCode !== null) throw new Error(`wrangler dev exited early (${exitCode}); see ${logPath}`);
      if (Date.now() > deadline)
        throw new Error(`${readyPath} did not answer 200 within ${readyTimeoutMs} ms; see ${logPath}`);
      try {
        const res = await fetch(`${baseUrl}${readyPath}`, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    const pgid = /** @type {number} */ (spawned.pid);
    return { port, baseUrl, logPath, pgid, stop, cpuSeconds: () => groupCpuSeconds(pgid) };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * CPU seconds (user + system) used so far by the live processes of a process group (Linux /proc).
 * @param {number} pgid
 */
async function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after "(comm)": state ppid pgrp ... utime (12th) stime (13th).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** Warnings wrangler always prints for this project's config (cron triggers, the AI binding). */
const STARTUP_NOTICES = /Scheduled Workers are not automatically triggered|AI bindings always access remote resources/;
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Sums up what the server printed: errors, warnings and known startup notices grouped by event (structured JSON
 * logs) or by their first line, with counts, so that the report shows what went wrong.
 * @param {string} text
 */
export function summariseServerLog(text) {
  /** @type {Map<string, { level: string; message: string; count: number }>} */
  const groups = new Map();
  /**
   * @param {string} level
   * @param {string} key
   */
  const add = (level, key) => {
    const id = `${level} ${key}`;
    const g = groups.get(id);
    if (g) g.count++;
    else groups.set(id, { level, message: key, count: 1 });
  };
  for (const raw of text.replace(ANSI, "").split("\n")) {
    const line = raw.trim();
    const json = line.indexOf('{"level"');
    if (json !== -1) {
      try {
        const entry = JSON.parse(line.slice(json));
        if (entry.level === "error" || entry.level === "warn") {
          add(entry.level, `${entry.event}${entry.message ? `: ${entry.message}` : ""}`);
        }
        continue;
      } catch {
        // not a whole JSON object: fall through to the plain-text rules
      }
    }
    if (/^(✘|X )?\s*\[ERROR\]/.test(line) || /^✘/.test(line)) add("error", line.replace(/^✘\s*/, "").slice(0, 200));
    else if (/^▲?\s*\[WARNING\]/.test(line)) {
      add(STARTUP_NOTICES.test(line) ? "notice" : "warn", line.replace(/^▲\s*/, "").slice(0, 200));
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
