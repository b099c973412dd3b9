// @ts-check
// End-to-end: the monitor as a reverse proxy in front of a real local origin (test/e2e/origin.mjs),
// over real sockets. `npm start` runs from a snapshot of the project in a temp dir (fresh state,
// PORT, MONITOR_STATE_DIR; node_modules linked) so that edits made during the run cannot make
// wrangler reload the worker mid-transfer. Node's test runner; only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import http from "node:http";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { freePort } from "../../bench/lib/server.mjs";
import { generatedBody, generatedDigest, startOrigin } from "./origin.mjs";
import { startMonitor } from "./start-monitor.mjs";

const PROJECT = ["src", "migrations", "scripts", "package.json", "tsconfig.json", "wrangler.toml", ".dev.vars.example"];
const MB = 1024 * 1024;
const UPLOAD_BYTES = 20 * MB;
const DOWNLOAD_BYTES = 100 * MB;
const RSS_GROWTH_LIMIT_KB = 50 * 1024;
/** The shop's own hostname (host routing): requests to the monitor with this Host go to the shop whole. */
const SHOP_HOST = "shop.e2e.test";
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @typedef {{ method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer | Readable; keepBody?: boolean; timeoutMs?: number; signal?: AbortSignal }} SendOptions
 * @typedef {{ status: number | undefined; statusMessage: string | undefined; rawHeaders: string[]; headers: http.IncomingHttpHeaders; body: Buffer; bytes: number; sha256: string; headersMs: number; firstByteMs: number | null; firstChunk: string | null; totalMs: number }} Sent
 * @typedef {{ id: string | string[] | undefined; label: string; status: number | undefined; request_bytes: number; response_bytes: number; error?: boolean }} Expected
 * @typedef {{ request_id: string; source: string; status: number; request_bytes: number; response_bytes: number; latency_ms: number; ttfb_ms: number | null; error: string | null }} Log
 */

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
/** @type {Awaited<ReturnType<typeof startOrigin>>} */
let origin;
let base = "";
let keys = /** @type {{ read: string; admin: string }} */ ({});
/** The origin-side port of the last request the origin received, to find the process that sent it. */
let lastRequest = { path: "", remotePort: 0 };
/**
 * Every proxied request: its id and what its record must say.
 * @type {Expected[]}
 */
const expected = [];

before(async () => {
  origin = await startOrigin();
  origin.server.on("request", (req) => (lastRequest = { path: req.url ?? "", remotePort: req.socket.remotePort ?? 0 }));
  monitor = await startMonitor("proxy", { snapshot: PROJECT, crons: true });
  base = monitor.url;
  keys = /** @type {typeof keys} */ ({ read: monitor.readKey, admin: monitor.adminKey });
  const closedPort = await freePort(); // free: nothing listens there
  await putService("shop", { origin: origin.url, hostnames: [SHOP_HOST] });
  await putService("down", { origin: `http://127.0.0.1:${closedPort}` });
  await putService("slow", { origin: origin.url, timeout_ms: 300 });
});

after(async () => {
  await monitor?.stop();
  await origin?.close();
});

/**
 * @param {string} name
 * @param {Record<string, unknown>} settings
 */
async function putService(name, settings) {
  const res = await fetch(`${base}/v1/services/${name}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${keys.admin}`, "Content-Type": "application/json" },
    body: JSON.stringify(settings),
  });
  assert.ok(res.status === 201 || res.status === 200, `PUT /v1/services/${name}: ${res.status} ${await res.text()}`);
}

/**
 * One request over a fresh socket. The body is kept (or only hashed with `keepBody: false`);
 * times are from the start of the request: response head, first body bytes, end. `signal`
 * aborts it.
 * @param {string} url
 * @param {SendOptions} [options]
 * @returns {Promise<Sent>}
 */
function send(url, { method = "GET", headers = {}, body, keepBody = true, timeoutMs = 20_000, signal } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs, signal }, (res) => {
      const headersMs = performance.now() - started;
      const hash = createHash("sha256");
      /** @type {Buffer[]} */
      const chunks = [];
      let bytes = 0;
      /** @type {number | null} */
      let firstByteMs = null;
      /** @type {string | null} */
      let firstChunk = null;
      res.on("data", (chunk) => {
        if (firstByteMs === null) {
          firstByteMs = performance.now() - started;
          firstChunk = chunk.toString("utf8");
        }
        bytes += chunk.length;
        hash.update(chunk);
        if (keepBody) chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          statusMessage: res.statusMessage,
          rawHeaders: res.rawHeaders,
          headers: res.headers,
          body: Buffer.concat(chunks),
          bytes,
          sha256: hash.digest("hex"),
          headersMs,
          firstByteMs,
          firstChunk,
          totalMs: performance.now() - started,
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on("error", reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** Headers that are not end-to-end (hop-by-hop), vary per response (Date) or are the proxy's own. */
const NOT_COMPARED = new Set(["connection", "keep-alive", "transfer-encoding", "date", "x-request-id"]);

/**
 * End-to-end headers as `name: value` lines, names lower-cased, sorted by name (repeated ones in order).
 * @param {string[]} rawHeaders
 * @param {Record<string, string>} [replace]
 */
function endToEnd(rawHeaders, replace = {}) {
  /** @type {[string, string][]} */
  const lines = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!NOT_COMPARED.has(name)) lines.push([name, replace[name] ?? rawHeaders[i + 1]]);
  }
  return lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([n, v]) => `${n}: ${v}`);
}

/**
 * Calls `path` on the origin and through `/proxy/shop` (or, with `host`, through the shop's own
 * hostname), asserts they match, and expects a record. Under `/proxy/` the monitor's origin is
 * shared with the dashboard, so there the page is sandboxed and the origin's cookies dropped
 * (src/proxy/isolation.ts); on the service hostname every end-to-end header passes as sent.
 * @param {string} path
 * @param {{ replace?: Record<string, string>; init?: () => SendOptions; record?: Partial<Expected>; host?: boolean }} [options]
 */
async function compare(path, { replace = {}, init = () => ({}), record = {}, host = false } = {}) {
  const direct = await send(`${origin.url}${path}`, init());
  const proxied = host
    ? await send(`${base}${path}`, { ...init(), headers: { ...init().headers, Host: SHOP_HOST } })
    : await send(`${base}/proxy/shop${path}`, init());
  assert.equal(proxied.status, direct.status, `${path}: status`);
  assert.equal(proxied.statusMessage, direct.statusMessage, `${path}: reason phrase`);
  const want = endToEnd(direct.rawHeaders, replace);
  const got = endToEnd(proxied.rawHeaders);
  if (host) assert.deepEqual(got, want, `${path}: end-to-end headers`);
  else {
    /** @param {string} line */
    const sandbox = (line) => line.startsWith("content-security-policy: sandbox ");
    assert.deepEqual(
      got.filter((l) => !sandbox(l)),
      want.filter((l) => !l.startsWith("set-cookie: ")),
      `${path}: end-to-end headers`,
    );
    assert.equal(got.filter(sandbox).length, 1, `${path}: the sandbox`);
  }
  assert.ok(
    proxied.body.equals(direct.body),
    `${path}: body differs:\n${proxied.body.toString().slice(0, 300)}\n${direct.body.toString().slice(0, 300)}`,
  );
  const id = /** @type {string | undefined} */ (proxied.headers["x-request-id"]);
  assert.match(id ?? "", /^[0-9a-f-]{36}$/, `${path}: x-request-id`);
  expected.push({
    id,
    label: path,
    status: proxied.status,
    response_bytes: proxied.bytes,
    request_bytes: 0,
    ...record,
  });
  return { direct, proxied };
}

test("GET JSON: same status, end-to-end headers and body; repeated Set-Cookie passed on the service hostname, dropped under /proxy/", async () => {
  const { proxied } = await compare("/json?page=2&q=a%20b");
  assert.equal(proxied.headers["set-cookie"], undefined);
  assert.equal(JSON.parse(proxied.body.toString()).query, "?page=2&q=a%20b");
  const viaHost = await compare("/json?page=2&q=a%20b", { host: true });
  assert.equal(viaHost.proxied.headers["set-cookie"]?.length, 2);
  assert.equal(viaHost.proxied.headers["content-security-policy"], undefined);
  assert.equal(JSON.parse(viaHost.proxied.body.toString()).query, "?page=2&q=a%20b");
});

test("POST with a 20 MB streamed body (Content-Length, and chunked): the origin gets every byte", async () => {
  const want = generatedDigest(UPLOAD_BYTES);
  for (const framing of ["content-length", "chunked"]) {
    /** @type {Record<string, string>} */
    const headers = { "Content-Type": "application/octet-stream" };
    if (framing === "content-length") headers["Content-Length"] = String(UPLOAD_BYTES);
    const init = () => ({
      method: "POST",
      headers,
      body: Readable.from(generatedBody(UPLOAD_BYTES), { objectMode: false }),
    });
    const { proxied } = await compare("/upload", { init, record: { request_bytes: UPLOAD_BYTES } });
    assert.deepEqual(JSON.parse(proxied.body.toString()), want, framing);
  }
});

test("chunked response: same chunks, streamed without a Content-Length", async () => {
  const { proxied } = await compare("/chunked");
  assert.equal(proxied.headers["content-length"], undefined);
  assert.equal(proxied.headers["transfer-encoding"], "chunked");
});

test("server-sent events: the first event arrives before the origin finishes", async () => {
  const { proxied } = await compare("/sse?gap_ms=1000");
  assert.match(proxied.firstChunk ?? "", /^event: first\n/);
  const firstByteMs = /** @type {number} */ (proxied.firstByteMs);
  assert.ok(firstByteMs < 500, `first event after ${Math.round(firstByteMs)} ms`);
  assert.ok(proxied.totalMs >= 1_000, `stream ended after ${Math.round(proxied.totalMs)} ms`);
});

test("redirects: a Location on the origin is rewritten to the proxy, another one is left alone", async () => {
  const rewritten = `${base}/proxy/shop/json?from=redirect`;
  const { proxied } = await compare("/redirect/origin", { replace: { location: rewritten } });
  assert.equal(proxied.status, 302);
  assert.equal(proxied.headers.location, rewritten);
  const other = await compare("/redirect/elsewhere");
  assert.equal(other.proxied.headers.location, "https://elsewhere.example/landing?from=origin");
});

test("404 and 503 from the origin pass through unchanged", async () => {
  assert.equal((await compare("/missing")).proxied.status, 404);
  const { proxied } = await compare("/unavailable");
  assert.equal(proxied.status, 503);
  assert.equal(proxied.headers["retry-after"], "7");
});

// --- memory: /proc helpers (Linux) ---

/** Pid -> { ppid, comm } of every live process. */
function processTable() {
  /** @type {Map<number, { ppid: number; comm: string }>} */
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      table.set(Number(entry), { ppid, comm });
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/**
 * The workerd processes below `rootPid` (npm -> node -> wrangler -> workerd).
 * @param {number} rootPid
 */
function workerdDescendants(rootPid) {
  const table = processTable();
  /** @type {number[]} */
  const found = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, p] of table) {
      if (p.ppid !== parent) continue;
      queue.push(pid);
      if (p.comm === "workerd") found.push(pid);
    }
  }
  return found;
}

/** @param {number} pid */
function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The pid among `pids` that holds the TCP socket 127.0.0.1:`localPort` -> 127.0.0.1:`remotePort`.
 * @param {number[]} pids
 * @param {number} localPort
 * @param {number} remotePort
 */
function socketOwner(pids, localPort, remotePort) {
  /** @param {number} p */
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(`:${hex(localPort)}`) && f[2].endsWith(`:${hex(remotePort)}`)) inodes.add(f[9]);
    }
  }
  for (const pid of pids) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (inodes.has(/^socket:\[(\d+)\]$/.exec(link)?.[1])) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

test("a 100 MB download streams through with the right bytes while the worker's memory stays flat", async (t) => {
  // The process that runs the monitor's code is the workerd that connects to the origin: find it
  // while an event stream holds its connection open. (wrangler dev puts a second workerd in front,
  // its own proxy worker; see the diagnostics.)
  const workerds = workerdDescendants(/** @type {number} */ (monitor.child.pid));
  assert.ok(workerds.length > 0, "no workerd process below npm start");
  const holding = send(`${base}/proxy/shop/sse?gap_ms=800`);
  let monitorPid = null;
  for (let i = 0; i < 40 && monitorPid === null; i++) {
    await sleep(25);
    if (lastRequest.path.startsWith("/sse")) monitorPid = socketOwner(workerds, lastRequest.remotePort, origin.port);
  }
  await holding;
  assert.ok(monitorPid !== null, `no workerd among ${workerds.join(", ")} holds the connection to the origin`);
  const frontPids = workerds.filter((p) => p !== monitorPid);

  const want = generatedDigest(DOWNLOAD_BYTES);
  const before = rssKb(monitorPid);
  const frontBefore = frontPids.map(rssKb);
  let peak = before;
  const frontPeak = [...frontBefore];
  // A worker that buffers may never finish the transfer: stop it as soon as the growth is too large.
  const tooMuch = new AbortController();
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKb(monitorPid));
    frontPids.forEach((p, i) => (frontPeak[i] = Math.max(frontPeak[i], rssKb(p))));
    if (peak - before >= RSS_GROWTH_LIMIT_KB) tooMuch.abort();
  }, 50);
  let res;
  try {
    res = await send(`${base}/proxy/shop/download?bytes=${DOWNLOAD_BYTES}`, {
      keepBody: false,
      timeoutMs: 45_000,
      signal: tooMuch.signal,
    });
  } catch (err) {
    if (!tooMuch.signal.aborted) throw err;
  } finally {
    clearInterval(sampler);
  }
  const growthKb = peak - before;
  const took = res ? `${Math.round(res.totalMs)} ms` : "aborted";
  t.diagnostic(
    `download ${took}; monitor workerd ${monitorPid}: RSS ${Math.round(before / 1024)} MB -> peak ` +
      `${Math.round(peak / 1024)} MB (+${Math.round(growthKb / 1024)} MB)`,
  );
  frontPids.forEach((p, i) =>
    t.diagnostic(
      `wrangler's front workerd ${p} (not the monitor): RSS ${Math.round(frontBefore[i] / 1024)} MB -> peak ${Math.round(frontPeak[i] / 1024)} MB`,
    ),
  );
  assert.ok(
    growthKb < RSS_GROWTH_LIMIT_KB,
    `the monitor's workerd grew by ${Math.round(growthKb / 1024)} MB during a 100 MB download`,
  );
  const downloaded = /** @type {Sent} */ (res);
  assert.equal(downloaded.status, 200);
  assert.equal(downloaded.headers["content-length"], String(DOWNLOAD_BYTES));
  assert.equal(downloaded.bytes, want.length);
  assert.equal(downloaded.sha256, want.sha256);
  expected.push({
    id: downloaded.headers["x-request-id"],
    label: "/download",
    status: 200,
    request_bytes: 0,
    response_bytes: DOWNLOAD_BYTES,
  });
});

test("origin down: 502 origin_unreachable; slower than timeout_ms: 504 origin_timeout; JSON with the request id", async () => {
  const down = await send(`${base}/proxy/down/anything?x=1`);
  assert.equal(down.status, 502);
  assert.match(down.headers["content-type"] ?? "", /application\/json/);
  const downBody = JSON.parse(down.body.toString());
  assert.equal(downBody.error.code, "origin_unreachable");
  assert.equal(downBody.error.details.request_id, down.headers["x-request-id"]);
  expected.push({
    id: down.headers["x-request-id"],
    label: "down",
    status: 502,
    request_bytes: 0,
    response_bytes: 0,
    error: true,
  });

  const slow = await send(`${base}/proxy/slow/slow?ms=3000`);
  assert.equal(slow.status, 504);
  assert.ok(slow.totalMs >= 290 && slow.totalMs < 2_500, `504 after ${Math.round(slow.totalMs)} ms (timeout 300 ms)`);
  const slowBody = JSON.parse(slow.body.toString());
  assert.equal(slowBody.error.code, "origin_timeout");
  assert.equal(slowBody.error.details.request_id, slow.headers["x-request-id"]);
  expected.push({
    id: slow.headers["x-request-id"],
    label: "slow",
    status: 504,
    request_bytes: 0,
    response_bytes: 0,
    error: true,
  });
});

test("every proxied request is in GET /v1/logs with its request id, timing and sizes", async () => {
  assert.ok(expected.length >= 12, `only ${expected.length} proxied requests were made`);
  /** @type {Log[]} */
  let logs = [];
  const deadline = Date.now() + 12_000;
  for (;;) {
    const res = await fetch(`${base}/v1/logs?limit=1000`, { headers: { Authorization: `Bearer ${keys.read}` } });
    assert.equal(res.status, 200);
    logs = (await res.json()).logs;
    const have = /** @type {Set<unknown>} */ (new Set(logs.map((l) => l.request_id)));
    if (expected.every((e) => have.has(e.id)) || Date.now() > deadline) break;
    await sleep(250);
  }
  for (const e of expected) {
    const matching = logs.filter((l) => l.request_id === e.id);
    assert.equal(matching.length, 1, `${e.label}: ${matching.length} records for request ${e.id}`);
    const log = matching[0];
    assert.equal(log.source, "proxy", e.label);
    assert.equal(log.status, e.status, e.label);
    assert.equal(log.request_bytes, e.request_bytes, `${e.label}: request_bytes`);
    assert.equal(log.response_bytes, e.response_bytes, `${e.label}: response_bytes`);
    assert.equal(typeof log.latency_ms, "number", `${e.label}: latency_ms`);
    if (e.error) {
      assert.equal(typeof log.error, "string", `${e.label}: error`);
      assert.equal(log.ttfb_ms, null, `${e.label}: no response head, so no ttfb_ms`);
    } else {
      assert.equal(log.error, null, `${e.label}: error`);
      assert.equal(typeof log.ttfb_ms, "number", `${e.label}: ttfb_ms`);
      assert.ok(
        /** @type {number} */ (log.ttfb_ms) <= log.latency_ms,
        `${e.label}: ttfb_ms ${log.ttfb_ms} > latency_ms ${log.latency_ms}`,
      );
    }
  }
  const sse = /** @type {Log} */ (
    logs.find((l) => l.request_id === expected.find((e) => e.label.startsWith("/sse"))?.id)
  );
  assert.ok(
    sse.latency_ms >= 1_000 && /** @type {number} */ (sse.ttfb_ms) < 500,
    `event stream: ttfb ${sse.ttfb_ms} ms, latency ${sse.latency_ms} ms`,
  );
  const slow = /** @type {Log} */ (logs.find((l) => l.request_id === expected.find((e) => e.label === "slow")?.id));
  assert.ok(slow.latency_ms >= 290, `504 recorded with latency ${slow.latency_ms} ms`);
});
