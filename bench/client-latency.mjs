// @ts-check
/**
 * The app's latency with the client package (`npm run bench:client`): identical Express apps in
 * one child process, without the client ("absent", twice: the noise floor) and with it (default
 * options) pointed at a monitor that refuses connections (a port nothing listens on), one that
 * never answers, one that answers after 2 s, and one that answers at once (a stand-in for a
 * monitor that is up). Requests go one at a time, each round to every app in a new random order
 * so the machine's noise falls on all alike; the first rounds warm up. Prints p50/p95/p99 per app
 * and the client's counters (proof it was recording and failing to send). Loopback only, bounded.
 *
 * Usage: node bench/client-latency.mjs [--rounds 2000] [--warmup 200]
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureBuilt } from "../clients/js/test/built.mjs";
import { freePort } from "./lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: { rounds: { type: "string", default: "2000" }, warmup: { type: "string", default: "200" } },
});
const ROUNDS = Number(values.rounds);
const WARMUP = Math.min(Number(values.warmup), ROUNDS - 1);

/**
 * A stand-in monitor on a free loopback port; `answer(req, res)` decides what it does.
 * @param {import("node:http").RequestListener} answer
 */
async function standIn(answer) {
  const server = createServer(answer);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  return {
    url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}/v1/logs`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const accepted = (/** @type {import("node:http").ServerResponse} */ res) =>
  res.writeHead(202, { "Content-Type": "application/json" }).end('{"accepted":1,"rejected":[]}');
const hang = await standIn((req) => req.resume());
const slow = await standIn((req, res) => {
  req.resume();
  setTimeout(() => accepted(res), 2_000);
});
const up = await standIn((req, res) => {
  req.resume();
  req.on("end", () => accepted(res));
});
const endpoints = {
  absent: null,
  "monitor refuses": `http://127.0.0.1:${await freePort()}/v1/logs`,
  "monitor never answers": hang.url,
  "monitor 2 s slow": slow.url,
  "monitor up (answers at once)": up.url,
  "absent (2)": null,
};

ensureBuilt();
const child = spawn(process.execPath, [join(ROOT, "bench/lib/client-apps.mjs"), JSON.stringify(endpoints)], {
  stdio: ["ignore", "pipe", "inherit"],
});
/** @type {Record<string, number>} */
const ports = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (line) resolve(JSON.parse(line));
  });
  child.once("exit", (code) => reject(new Error(`the apps exited (${code})`)));
});

const names = Object.keys(endpoints);
/** @type {Record<string, number[]>} */
const samples = Object.fromEntries(names.map((n) => [n, []]));
const started = Date.now();
for (let round = 0; round < ROUNDS; round++) {
  const order = [...names].sort(() => Math.random() - 0.5);
  for (const name of order) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${ports[name]}/orders/${round}`);
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
    if (round >= WARMUP) samples[name].push(ms);
  }
}
const pct = (/** @type {number[]} */ sorted, /** @type {number} */ p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
/** @type {Record<string, { p50_ms: number, p95_ms: number, p99_ms: number, client: { recorded: number, sent: number, failed: number, retries: number, queued: number } | null }>} */
const summary = {};
for (const name of names) {
  const sorted = samples[name].sort((a, b) => a - b);
  const stats = await (await fetch(`http://127.0.0.1:${ports[name]}/__stats`)).json();
  summary[name] = {
    p50_ms: +pct(sorted, 50).toFixed(2),
    p95_ms: +pct(sorted, 95).toFixed(2),
    p99_ms: +pct(sorted, 99).toFixed(2),
    client: stats,
  };
}
child.kill("SIGTERM");
for (const s of [hang, slow, up]) s.close();
console.log(
  JSON.stringify({
    event: "client_latency",
    rounds: ROUNDS,
    warmup: WARMUP,
    seconds: Math.round((Date.now() - started) / 1000),
    node: process.version,
  }),
);
for (const [name, s] of Object.entries(summary)) {
  const c = s.client
    ? ` client: recorded ${s.client.recorded}, sent ${s.client.sent}, failed ${s.client.failed}, retries ${s.client.retries}, queued ${s.client.queued}`
    : "";
  console.log(
    `${name.padEnd(30)} p50 ${String(s.p50_ms).padStart(6)} ms  p95 ${String(s.p95_ms).padStart(6)} ms  p99 ${String(s.p99_ms).padStart(6)} ms${c}`,
  );
}
