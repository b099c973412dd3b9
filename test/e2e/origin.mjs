// @ts-check
/**
 * A real local origin API on node:http (127.0.0.1 only) for the proxy's end-to-end test and the
 * proxy benchmark: JSON, streamed uploads and downloads, chunked and server-sent-event
 * responses, redirects, error statuses and a slow answer. Large bodies are generated as they
 * are sent (with backpressure), never held in memory.
 *
 * In-process: `const origin = await startOrigin()`; as its own process (the bench, so that the
 * origin does not share an event loop with the load generator):
 * `node test/e2e/origin.mjs --port <n>`, which prints `origin listening on <url>` when ready.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const BLOCK = 64 * 1024;
const MAX_GENERATED = 1024 * 1024 * 1024;
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fixed pseudo-random 64 KiB block (xorshift32), the base of every generated body. */
const BASE_BLOCK = (() => {
  const block = Buffer.alloc(BLOCK);
  let x = 0x9e3779b9;
  for (let i = 0; i < BLOCK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  return block;
})();

/**
 * The deterministic body of `total` bytes, in 64 KiB chunks: the base block with the chunk's
 * index in its first bytes, so that a dropped, repeated or reordered chunk changes the digest.
 * @param {number} total
 */
export function* generatedBody(total) {
  for (let offset = 0, index = 0; offset < total; offset += BLOCK, index++) {
    const chunk = Buffer.from(BASE_BLOCK.subarray(0, Math.min(BLOCK, total - offset)));
    if (chunk.length >= 4) chunk.writeUInt32LE(index, 0);
    yield chunk;
  }
}

/**
 * Length and sha256 (hex) of the generated body of `total` bytes, computed without holding it.
 * @param {number} total
 */
export function generatedDigest(total) {
  const hash = createHash("sha256");
  for (const chunk of generatedBody(total)) hash.update(chunk);
  return { length: total, sha256: hash.digest("hex") };
}

/** The small JSON the benchmark fetches (about 200 bytes). */
export const ITEMS = {
  items: [
    { id: 1, name: "espresso", price_cents: 250, in_stock: true },
    { id: 2, name: "flat white", price_cents: 380, in_stock: true },
    { id: 3, name: "filter", price_cents: 300, in_stock: false },
  ],
  page: 1,
};
const ITEMS_JSON = JSON.stringify(ITEMS);

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} value
 * @param {http.OutgoingHttpHeaders} [headers]
 */
function json(res, status, value, headers = {}) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": body.length,
    ...headers,
  });
  res.end(body);
}

/**
 * @param {URL} url
 * @param {string} name
 * @param {number} fallback
 * @param {number} max
 */
function numberParam(url, name, fallback, max) {
  const raw = url.searchParams.get(name);
  const n = raw === null ? fallback : Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= max ? n : fallback;
}

/**
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {string} base
 */
async function handle(req, res, base) {
  const url = new URL(req.url ?? "/", base);
  switch (url.pathname) {
    case "/items":
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(ITEMS_JSON) });
      return res.end(ITEMS_JSON);
    case "/json":
      // Several end-to-end headers, a repeated one and quoting, so that the comparison means something.
      return json(
        res,
        200,
        { ok: true, query: url.search, method: req.method, items: ITEMS.items },
        {
          "Cache-Control": "private, max-age=60",
          ETag: '"v1-abc"',
          Vary: "Accept, Accept-Language",
          "Set-Cookie": ["session=abc; Path=/; HttpOnly", "theme=dark; Path=/"],
          "X-Origin-Route": "json",
          "X-Quoted": '"a, b"; q=0.5',
        },
      );
    case "/upload": {
      // The request body streams through a hash: length and sha256 of what arrived.
      const hash = createHash("sha256");
      let length = 0;
      for await (const chunk of req) {
        hash.update(chunk);
        length += chunk.length;
      }
      return json(res, 200, { length, sha256: hash.digest("hex") });
    }
    case "/chunked": {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "X-Origin-Route": "chunked" });
      for (let i = 1; i <= 5; i++) {
        res.write(`chunk ${i} of 5\n`);
        await sleep(40);
      }
      return res.end("done\n");
    }
    case "/sse": {
      // The first event at once, the rest after `gap_ms`: a proxy that buffers shows it.
      const gap = numberParam(url, "gap_ms", 1_000, 10_000);
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Origin-Route": "sse" });
      res.write('event: first\ndata: {"n":1}\n\n');
      await sleep(gap);
      res.write('data: {"n":2}\n\n');
      return res.end('event: last\ndata: {"n":3}\n\n');
    }
    case "/redirect/origin":
      res.writeHead(302, { Location: `${base}/json?from=redirect`, "Content-Length": 0 });
      return res.end();
    case "/redirect/elsewhere":
      res.writeHead(301, { Location: "https://elsewhere.example/landing?from=origin", "Content-Length": 0 });
      return res.end();
    case "/unavailable":
      return json(res, 503, { error: { message: "maintenance" } }, { "Retry-After": "7" });
    case "/download": {
      const bytes = numberParam(url, "bytes", 1024 * 1024, MAX_GENERATED);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": bytes });
      // pipe() honours backpressure: at most a few chunks are in memory at any time.
      Readable.from(generatedBody(bytes), { objectMode: false }).pipe(res);
      return undefined;
    }
    case "/slow":
      await sleep(numberParam(url, "ms", 1_000, 30_000));
      return json(res, 200, { slow: true });
    default:
      return json(res, 404, { error: { message: `no route ${url.pathname}` } });
  }
}

/**
 * Starts the origin on 127.0.0.1 (`port` 0: a free one). Returns `{ port, url, server, close() }`
 * (`server` is the node:http server, for tests that watch its requests); `close()` also ends
 * open connections (event streams, keep-alive sockets).
 * @param {{ port?: number }} [options]
 */
export async function startOrigin({ port = 0 } = {}) {
  let base = "";
  const server = http.createServer((req, res) => {
    handle(req, res, base).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: { message: String(err) } });
      else res.destroy(err);
    });
  });
  // Longer than the proxy's pooled connections live, so that a reused socket is not closed under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await /** @type {Promise<void>} */ (
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    })
  );
  const actual = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
  base = `http://127.0.0.1:${actual}`;
  const close = () =>
    /** @type {Promise<void>} */ (
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })
    );
  return { port: actual, url: base, server, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  const origin = await startOrigin({ port: Number(values.port) });
  console.log(`origin listening on ${origin.url}`);
  const stop = () => origin.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
