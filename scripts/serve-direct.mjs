// @ts-check
// `npm start` runs this (unless MONITOR_SERVER=wrangler): the same worker as `wrangler dev --local`, served
// by Miniflare straight from workerd's own socket, without wrangler's dev proxy in front.
//
// Why: wrangler dev forwards every request through a ProxyWorker to the user worker over a
// kept-alive local connection. Both ends close idle connections after 5 s, and a POST written on a
// connection the other end is closing is lost (cloudflare/workers-sdk#14641). wrangler 4.86 then
// answered `503 Your worker restarted mid-request` although nothing restarted; under sustained
// batch ingest, where the single workerd thread is busy for long stretches, that happened every few
// minutes. wrangler 4.157 (PR #15252) keeps the dev server alive and retries GET and HEAD, but
// still not a POST that loses the race (a 5-minute backfill run on it saw none). The same race
// exists between any client that keeps connections alive and workerd's own socket, since workerd
// closes idle connections after 5 s too (seen as ECONNRESET under load).
// Here a Node front holds client connections for 65 s and gives each request a fresh connection
// to workerd, so no request is ever written on a connection the other end is closing.
//
// The bundle is wrangler's own (`wrangler deploy --dry-run --outdir`), the bindings, vars,
// .dev.vars and assets come from wrangler.toml through wrangler's `unstable_getMiniflareWorkerOptions`,
// and state is persisted in wrangler's layout (`<state>/v3/d1`, `<state>/v3/do`), so `wrangler d1
// migrations apply --local` and `wrangler dev` see the same data. No file watching: restart to
// pick up code changes. Cron triggers are fired here (unless MONITOR_CRONS=off). Of wrangler dev's
// options, `--var NAME:VALUE` (repeatable) and `--inspector-port <n>` (workerd's own DevTools
// inspector, e.g. for a CPU profile) are honoured; any other option is refused with a pointer to
// MONITOR_SERVER=wrangler.
import { spawnSync } from "node:child_process";
import { Agent, createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const wrangler = require("wrangler");
// The Miniflare wrangler itself runs (its options match unstable_getMiniflareWorkerOptions).
const { Log, LogLevel, Miniflare, convertV4MiniflareOptions } = require(
  require.resolve("miniflare", { paths: [dirname(require.resolve("wrangler/package.json"))] }),
);

const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? "127.0.0.1";
const state = process.env.MONITOR_STATE_DIR ?? join(root, ".wrangler", "state");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };

let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: { var: { type: "string", multiple: true }, "inspector-port": { type: "string" } },
    strict: true,
  }).values;
} catch (err) {
  console.error(
    `${err instanceof Error ? err.message : String(err)}\nnpm start (served directly) takes only --var NAME:VALUE; use PORT, HOST and MONITOR_STATE_DIR, or MONITOR_SERVER=wrangler npm start -- <wrangler dev options>`,
  );
  process.exit(2);
}
/** @type {Record<string, string>} */
const extraVars = {};
for (const pair of args.var ?? []) {
  const at = pair.indexOf(":");
  if (at < 1) {
    console.error(`--var ${pair}: expected NAME:VALUE`);
    process.exit(2);
  }
  extraVars[pair.slice(0, at)] = pair.slice(at + 1);
}

const outdir = mkdtempSync(join(tmpdir(), "edge-monitor-bundle-"));
const build = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
  cwd: root,
  env,
  stdio: ["ignore", "ignore", "inherit"],
});
if (build.status !== 0) {
  console.error("bundling the worker failed (wrangler deploy --dry-run)");
  process.exit(build.status ?? 1);
}

const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
/**
 * The string and JSON bindings wrangler's helper gave (an object, or undefined when none).
 * @param {object} options
 */
const bindingsOf = (options) => /** @type {{ bindings?: Record<string, unknown> }} */ (options).bindings;
// INGEST_MAX_IN_FLIGHT from the environment overrides wrangler.toml's (the soak tunes it this way).
if (process.env.INGEST_MAX_IN_FLIGHT)
  workerOptions.bindings = { ...bindingsOf(workerOptions), INGEST_MAX_IN_FLIGHT: process.env.INGEST_MAX_IN_FLIGHT };
// --var NAME:VALUE, as wrangler dev takes it (a string binding over wrangler.toml's and .dev.vars').
workerOptions.bindings = { ...bindingsOf(workerOptions), ...extraVars };
// Miniflare 5 takes a new option shape; wrangler's helper still gives the v4 one, which its own
// converter translates (as wrangler and the vitest plugin do).
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [
      {
        ...workerOptions,
        name: "edge-monitor",
        modulesRoot: outdir,
        modules: [{ type: "ESModule", path: join(outdir, "index.js") }],
      },
    ],
    // workerd listens on a private loopback port; the front below takes the public one.
    host: "127.0.0.1",
    port: 0,
    // wrangler's layout: <state>/v3/d1, <state>/v3/do.
    resourcePersistencePath: join(state, "v3"),
    // The worker's console output (the structured JSON logs) and uncaught errors, as wrangler dev shows them.
    log: new Log(LogLevel.INFO),
    ...(args["inspector-port"] ? { inspectorPort: Number(args["inspector-port"]) } : {}),
  }),
);
const inner = await mf.ready;

// The front: a plain Node reverse proxy that keeps client connections open for 65 s (longer than
// any client's idle pool, so a client never writes on a connection this end is closing) and opens
// a new connection to workerd for every request (none sits idle there, so workerd's 5-second idle
// close cannot race a request either). Each request is forwarded exactly once, bodies streamed;
// if workerd cannot be reached the answer is a 502 saying so, never a silent retry.
const upstream = new Agent({ keepAlive: false });
const front = createServer((req, res) => {
  const out = httpRequest(
    {
      host: inner.hostname,
      port: inner.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent: upstream,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    },
  );
  out.on("error", (err) => {
    console.error(
      JSON.stringify({
        level: "error",
        event: "front_upstream_failed",
        method: req.method,
        path: req.url?.split("?")[0],
        message: err.message,
      }),
    );
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { code: "upstream_unreachable", message: `workerd did not answer: ${err.message}` } }),
      );
    } else res.destroy(err);
  });
  req.pipe(out);
});
// WebSocket upgrades (the proxy passes them on): the handshake is re-sent to workerd on a new
// connection and the two sockets are then joined byte for byte.
front.on("upgrade", (req, socket, head) => {
  const out = connect(Number(inner.port), inner.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    out.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) out.write(head);
    out.pipe(socket);
    socket.pipe(out);
  });
  out.on("error", () => socket.destroy());
  socket.on("error", () => out.destroy());
});
front.keepAliveTimeout = 65_000;
front.headersTimeout = 66_000;
await new Promise((/** @type {(v?: unknown) => void} */ resolve) => front.listen(port, host, () => resolve()));
console.log(
  `[direct] serving the worker at http://${host}:${port} (Miniflare at ${inner.host}, no wrangler dev proxy)`,
);

// Cron triggers: Miniflare's /cdn-cgi/handler/scheduled reaches the assets router in front of the
// worker (which has no scheduled handler), so they are fired on the worker itself. The schedules
// of wrangler.toml: probes every minute, aggregation every 5 minutes, retention at start and daily.
if (process.env.MONITOR_CRONS !== "off") {
  const worker = await mf.getWorker("edge-monitor");
  const fire = async (/** @type {string} */ cron) => {
    try {
      const result = await worker.scheduled({ cron, scheduledTime: new Date() });
      if (result.outcome !== "ok") console.error(`cron ${cron}: ${result.outcome}`);
    } catch (err) {
      console.error(`cron ${cron}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const every = (/** @type {number} */ ms, /** @type {string} */ cron) => setInterval(() => void fire(cron), ms);
  every(60_000, "* * * * *");
  every(5 * 60_000, "*/5 * * * *");
  every(24 * 60 * 60_000, "17 3 * * *");
  void fire("*/5 * * * *");
  void fire("17 3 * * *");
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  front.close();
  await mf.dispose().catch(() => undefined);
  rmSync(outdir, { recursive: true, force: true });
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void stop());
