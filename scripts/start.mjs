// @ts-check
// `npm start`: runs the monitor locally on workerd with no Cloudflare account and no network.
// Served by scripts/serve-direct.mjs (Miniflare behind a Node front) unless MONITOR_SERVER=wrangler.
// Applies the D1 migrations to local state, provides development keys (.dev.vars from
// .dev.vars.example when missing), listens on PORT (default 8787), prints the URL and keys, and
// fires the cron triggers locally (wrangler dev does not: it only exposes /__scheduled with
// --test-scheduled), so summaries, probes and retention run without a deploy. MONITOR_CRONS=off
// turns that off. The dashboard (dashboard/) is built into dashboard/dist first when its sources
// are newer than the last build, and served by the worker at / (wrangler.toml [assets]).
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? "127.0.0.1";
const bin = join(root, "node_modules", ".bin");
// wrangler and Miniflare need Node 22: the pinned `node` devDependency (node_modules/.bin/node) runs
// them, also when this script itself was started by an older system Node (`node scripts/start.mjs`).
const node = existsSync(join(bin, "node")) ? join(bin, "node") : process.execPath;
const env = {
  ...process.env,
  PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};
const wrangler = join(bin, "wrangler");
// Local D1 and Durable Object state (default: wrangler's .wrangler/state); the end-to-end test uses a temp dir.
const persist = process.env.MONITOR_STATE_DIR ? ["--persist-to", process.env.MONITOR_STATE_DIR] : [];

const devVars = join(root, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(join(root, ".dev.vars.example"), devVars);
  console.log("created .dev.vars from .dev.vars.example (development keys)");
}
const keys = Object.fromEntries(
  readFileSync(devVars, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && line.includes("="))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);

/**
 * Newest modification time under `path` (a file or a folder), 0 when absent.
 * @param {string} path
 * @returns {number}
 */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

const dashboard = join(root, "dashboard");
const dist = join(dashboard, "dist");
const builtAt = newest(join(dist, "index.html"));
const sourcesAt = Math.max(
  ...["src", "index.html", "vite.config.ts", "pages-headers.ts"].map((p) => newest(join(dashboard, p))),
  newest(join(root, "package-lock.json")),
);
if (!existsSync(join(dashboard, "vite.config.ts"))) {
  // A copy of the project without the dashboard's sources (the end-to-end proxy test runs from
  // one): wrangler.toml's [assets] directory must still exist, so it gets a placeholder page.
  if (builtAt === 0) {
    mkdirSync(dist, { recursive: true });
    writeFileSync(
      join(dist, "index.html"),
      "<!doctype html><title>edge-monitor</title><p>The dashboard was not built: run <code>npm run dashboard:build</code>.</p>\n",
    );
  }
} else if (builtAt === 0 || sourcesAt > builtAt) {
  const build = spawnSync(
    join(root, "node_modules", ".bin", "vite"),
    ["build", "--config", join(dashboard, "vite.config.ts"), "--logLevel", "warn"],
    { cwd: root, env, stdio: "inherit" },
  );
  if (build.status !== 0) {
    console.error("building the dashboard failed");
    process.exit(build.status ?? 1);
  }
} else {
  console.log("dashboard/dist is up to date");
}

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  cwd: root,
  env,
  stdio: "inherit",
});
if (migrate.status !== 0) {
  console.error("applying the D1 migrations failed");
  process.exit(migrate.status ?? 1);
}

// Served by default by Miniflare behind a small Node front (scripts/serve-direct.mjs): wrangler
// dev's proxy can drop a POST under sustained load (cloudflare/workers-sdk#14641). No reload on
// file changes there; MONITOR_SERVER=wrangler runs `wrangler dev` (file watching, its options).
const server = process.env.MONITOR_SERVER ?? "direct";
if (!["direct", "wrangler"].includes(server)) {
  console.error(`MONITOR_SERVER must be direct or wrangler, not ${JSON.stringify(server)}`);
  process.exit(2);
}
const direct = server === "direct";
const dev = direct
  ? spawn(node, [join(root, "scripts", "serve-direct.mjs"), ...process.argv.slice(2)], {
      cwd: root,
      env: { ...env, PORT: String(port), HOST: host },
      stdio: ["inherit", "inherit", "inherit"],
    })
  : spawn(
      wrangler,
      [
        "dev",
        "--local",
        "--test-scheduled",
        "--port",
        String(port),
        "--ip",
        host,
        ...persist,
        ...process.argv.slice(2),
      ],
      {
        cwd: root,
        env,
        stdio: ["inherit", "inherit", "inherit"],
      },
    );

const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${port}`;
async function announceWhenReady() {
  for (let i = 0; i < 120; i++) {
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) {
        // One write (under the pipe's atomic size): a reader that sees the first line sees the
        // keys too, and the server's own output cannot land between them.
        console.log(
          [
            `\nedge-monitor is running at ${url}`,
            `  dashboard:  ${url}/ (sign in with the read or admin key)`,
            `  ingest key: ${keys.INGEST_KEYS?.split(",")[0] ?? "(INGEST_KEYS unset)"}`,
            `  read key:   ${keys.READ_KEY ?? "(READ_KEY unset)"}`,
            `  admin key:  ${keys.ADMIN_KEY ?? "(ADMIN_KEY unset)"}`,
            `  try: curl -s ${url}/health\n`,
          ].join("\n"),
        );
        // Served directly, scripts/serve-direct.mjs fires the crons itself.
        if (process.env.MONITOR_CRONS !== "off" && !direct) startCrons();
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.error(`the monitor did not become ready at ${url} within 60 s`);
}
void announceWhenReady();

/** The schedules of wrangler.toml, fired through wrangler's /__scheduled: probes every minute, aggregation every 5 minutes, retention at start and daily. */
function startCrons() {
  const fire = async (/** @type {string} */ cron) => {
    try {
      const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`);
      if (!res.ok) console.error(`cron ${cron}: ${res.status}`);
    } catch (err) {
      console.error(`cron ${cron}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const every = (/** @type {number} */ ms, /** @type {string} */ cron) =>
    setInterval(() => void fire(cron), ms).unref();
  every(60_000, "* * * * *");
  every(5 * 60_000, "*/5 * * * *");
  every(24 * 60 * 60_000, "17 3 * * *");
  void fire("*/5 * * * *");
  void fire("17 3 * * *");
}

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
