import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROXY_SANDBOX_CSP } from "../src/proxy/isolation";
import { call, flushAll, getJson } from "./helpers";

type Log = Record<string, unknown> & { path: string; status: number; route: string; request_id: string | null };

/** Calls the origin directly (the reference) and through the proxy, with the same request. */
async function both(path: string, init: RequestInit = {}) {
  const direct = await env.ORIGIN.fetch(new Request(`http://origin.test${path}`, init));
  const proxied = await call(`/proxy/shop${path}`, init);
  return { direct, proxied };
}

/** End-to-end headers of a response, without the ones the proxy sets or the runtime varies. */
function endToEnd(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers)
    if (!["x-request-id", "date", "content-length", "transfer-encoding"].includes(k)) out[k] = v;
  return out;
}

/** The origin's end-to-end headers as the path-prefixed proxy serves them: sandboxed (test/isolation.test.ts). */
function sandboxed(headers: Record<string, string>): Record<string, string> {
  return { ...headers, "content-security-policy": PROXY_SANDBOX_CSP };
}

async function logsFor(requestId: string): Promise<Log[]> {
  await flushAll();
  const { body } = await getJson<{ logs: Log[] }>(`/v1/logs?limit=1000`);
  return body.logs.filter((l) => l.request_id === requestId);
}

/** Waits for the proxy's waitUntil hand-off, then returns the one record of `requestId`. */
async function recordOf(requestId: string): Promise<Log> {
  for (let i = 0; i < 40; i++) {
    const logs = await logsFor(requestId);
    if (logs.length > 0) {
      expect(logs).toHaveLength(1);
      return logs[0] as Log;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no record for ${requestId}`);
}

describe("reverse proxy: faithful forwarding", () => {
  it("GET: same status, end-to-end headers and body as the origin, and a record", async () => {
    const { direct, proxied } = await both("/items?page=2");
    expect(proxied.status).toBe(direct.status);
    expect(endToEnd(proxied.headers)).toEqual(sandboxed(endToEnd(direct.headers)));
    const body = await proxied.text();
    expect(body).toBe(await direct.text());
    const id = proxied.headers.get("x-request-id") ?? "";
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const log = await recordOf(id);
    expect(log).toMatchObject({
      service: "shop",
      method: "GET",
      route: "/items",
      path: "/items?page=2",
      status: 200,
      source: "proxy",
      response_empty: false,
    });
    expect(log.response_bytes).toBe(new TextEncoder().encode(body).byteLength);
    expect(log.ttfb_ms).toEqual(expect.any(Number));
  });

  it("records the Cloudflare colo as the region and the consumer from PROXY_CONSUMER_HEADER", async () => {
    const proxied = await exports.default.fetch(
      new Request("http://monitor.test/proxy/shop/items?who=1", {
        headers: { "x-consumer-id": " acme " },
        cf: { colo: "FRA", country: "DE" },
      }),
    );
    expect(proxied.status).toBe(200);
    await proxied.arrayBuffer();
    const log = await recordOf(proxied.headers.get("x-request-id") ?? "");
    expect(log).toMatchObject({ consumer: "acme", region: "FRA", source: "proxy" });
    // Without the header the record names no consumer.
    const anonymous = await call("/proxy/shop/items?who=2");
    await anonymous.arrayBuffer();
    expect(await recordOf(anonymous.headers.get("x-request-id") ?? "")).toMatchObject({ consumer: null });
  });

  it("passes method, path, query and end-to-end headers; sets forwarding headers; strips the prefix", async () => {
    const res = await call("/proxy/shop/echo?a=1&b=two", {
      method: "DELETE",
      headers: {
        "x-custom": "v",
        "x-forwarded-for": "6.6.6.6",
        "x-forwarded-host": "evil.test",
        "cf-connecting-ip": "203.0.113.5",
        "x-request-id": "client-rid-1",
        connection: "x-drop-me",
        "x-drop-me": "1",
        "keep-alive": "timeout=1",
        "proxy-authorization": "Basic secret",
        te: "trailers",
      },
    });
    const echo = await res.json<{ method: string; path: string; query: string; headers: Record<string, string> }>();
    expect(echo.method).toBe("DELETE");
    expect(echo.path).toBe("/echo");
    expect(echo.query).toBe("?a=1&b=two");
    expect(echo.headers["x-custom"]).toBe("v");
    expect(echo.headers["x-forwarded-for"]).toBe("203.0.113.5");
    expect(echo.headers["x-forwarded-host"]).toBe("monitor.test");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-request-id"]).toBe("client-rid-1");
    for (const h of ["x-drop-me", "keep-alive", "proxy-authorization", "te", "cf-connecting-ip"])
      expect(echo.headers[h], h).toBeUndefined();
    expect(res.headers.get("x-request-id")).toBe("client-rid-1");
    const log = await recordOf("client-rid-1");
    expect(log).toMatchObject({ method: "DELETE", client_ip: "203.0.113.5" });
  });

  it("strips the other hop-by-hop request headers too (Proxy-Connection, Upgrade outside WebSockets)", async () => {
    const res = await call("/proxy/shop/echo", {
      headers: { "proxy-connection": "keep-alive", upgrade: "h2c", "x-kept": "1" },
    });
    const echo = await res.json<{ headers: Record<string, string> }>();
    expect(echo.headers["proxy-connection"]).toBeUndefined();
    expect(echo.headers.upgrade).toBeUndefined();
    expect(echo.headers["x-kept"]).toBe("1");
  });

  it("HEAD, 304 and a gzip-encoded body pass through as the origin sent them", async () => {
    const head = await both("/items", { method: "HEAD" });
    expect(head.proxied.status).toBe(head.direct.status);
    expect(endToEnd(head.proxied.headers)).toEqual(sandboxed(endToEnd(head.direct.headers)));
    expect(await head.proxied.text()).toBe("");

    const notModified = await both("/not-modified");
    expect(notModified.proxied.status).toBe(304);
    expect(notModified.proxied.headers.get("etag")).toBe('"v1"');

    const gzip = await both("/gzip", { headers: { "x-request-id": "gzip-1" } });
    expect(gzip.proxied.status).toBe(200);
    expect(gzip.proxied.headers.get("content-encoding")).toBe(gzip.direct.headers.get("content-encoding"));
    const [viaProxy, fromOrigin] = await Promise.all([gzip.proxied.arrayBuffer(), gzip.direct.arrayBuffer()]);
    const decoded = async (buf: ArrayBuffer) =>
      new Response(new Blob([buf]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
    // The same document arrives; the runtime may re-encode, so compare what the bytes decode to.
    expect(await decoded(viaProxy)).toBe(await decoded(fromOrigin));
    const log = await recordOf("gzip-1");
    expect(log).toMatchObject({ status: 200, response_empty: false });
  });

  it("strips hop-by-hop response headers, including the ones Connection names", async () => {
    const { direct, proxied } = await both("/hop");
    expect(direct.headers.get("x-secret-hop")).toBe("should not pass");
    for (const h of ["x-secret-hop", "keep-alive", "proxy-authenticate", "trailer", "connection"])
      expect(proxied.headers.get(h), h).toBeNull();
    expect(proxied.headers.get("x-end-to-end")).toBe("kept");
    expect(await proxied.text()).toBe("hop");
  });

  it("streams a large POST body through and counts its bytes", async () => {
    const size = 3 * 1024 * 1024 + 17;
    const makeBody = () => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= size) return c.close();
          const n = Math.min(65536, size - sent);
          c.enqueue(new Uint8Array(n).fill(sent % 256));
          sent += n;
        },
      });
    };
    const direct = await env.ORIGIN.fetch("http://origin.test/upload", { method: "POST", body: makeBody() });
    const proxied = await call("/proxy/shop/upload", {
      method: "POST",
      body: makeBody(),
      headers: { "x-request-id": "upload-1" },
    });
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toEqual(await direct.json());
    const log = await recordOf("upload-1");
    expect(log.request_bytes).toBe(size);
  });

  it("streams a large download byte for byte and records its size", async () => {
    const size = 5 * 1024 * 1024;
    const direct = await env.ORIGIN.fetch(`http://origin.test/download?size=${size}`);
    const a = await direct.arrayBuffer();
    const proxied = await call(`/proxy/shop/download?size=${size}`, { headers: { "x-request-id": "download-1" } });
    expect(proxied.headers.get("content-length")).toBe(String(size));
    const b = await proxied.arrayBuffer();
    expect(b.byteLength).toBe(size);
    // Compare digests: a deep equality of 5 MB of bytes takes seconds.
    const digest = async (buf: ArrayBuffer) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", buf))].join(",");
    expect(await digest(b)).toBe(await digest(a));
    expect((await recordOf("download-1")).response_bytes).toBe(size);
  });

  it("passes chunked and server-sent-event responses through as they come", async () => {
    const chunked = await both("/chunked");
    expect(await chunked.proxied.text()).toBe(await chunked.direct.text());
    const res = await call("/proxy/shop/sse?gap=200", { headers: { "x-request-id": "sse-1" } });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const started = Date.now();
    const first = await reader.read();
    // The first event arrives before the origin has finished (it pauses 200 ms between events).
    expect(Date.now() - started).toBeLessThan(150);
    expect(new TextDecoder().decode(first.value)).toContain("id: 0");
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain("id: 2");
    const log = await recordOf("sse-1");
    expect(Number(log.latency_ms)).toBeGreaterThanOrEqual(400);
    expect(Number(log.ttfb_ms)).toBeLessThan(Number(log.latency_ms));
  });

  it("returns redirects unchanged, rewriting a Location that points at the origin", async () => {
    const toOrigin = await call(`/proxy/shop/redirect?to=${encodeURIComponent("http://origin.test/echo?x=1")}`, {
      redirect: "manual",
    });
    expect(toOrigin.status).toBe(302);
    expect(toOrigin.headers.get("location")).toBe("http://monitor.test/proxy/shop/echo?x=1");
    const elsewhere = await call(
      `/proxy/shop/redirect?status=301&to=${encodeURIComponent("https://elsewhere.test/x")}`,
      { redirect: "manual" },
    );
    expect(elsewhere.status).toBe(301);
    expect(elsewhere.headers.get("location")).toBe("https://elsewhere.test/x");
    // Relative and scheme-relative Locations are resolved against the origin first.
    const relative = await call(`/proxy/shop/redirect?to=${encodeURIComponent("/login?next=1")}`, {
      redirect: "manual",
    });
    expect(relative.headers.get("location")).toBe("/proxy/shop/login?next=1");
    const schemeRelative = await call(`/proxy/shop/redirect?to=${encodeURIComponent("//origin.test/echo")}`, {
      redirect: "manual",
    });
    expect(schemeRelative.headers.get("location")).toBe("http://monitor.test/proxy/shop/echo");
    const based = await call(`/proxy/based/redirect?to=${encodeURIComponent("http://origin.test/base/echo")}`, {
      redirect: "manual",
    });
    expect(based.headers.get("location")).toBe("http://monitor.test/proxy/based/echo");
    const basedRelative = await call(`/proxy/based/redirect?to=${encodeURIComponent("/base/echo")}`, {
      redirect: "manual",
    });
    expect(basedRelative.headers.get("location")).toBe("/proxy/based/echo");
    // On a service hostname the public base is the host itself: a relative Location stays as sent.
    const viaHost = await exports.default.fetch(
      new Request(`http://api.shop.test/redirect?to=${encodeURIComponent("/login")}`, { redirect: "manual" }),
    );
    expect(viaHost.headers.get("location")).toBe("/login");
  });

  it("passes 4xx and 5xx through as the origin sent them", async () => {
    for (const code of [404, 418, 500, 503]) {
      const { direct, proxied } = await both(`/status/${code}`);
      expect(proxied.status).toBe(code);
      expect(await proxied.text()).toBe(await direct.text());
    }
  });

  it("counts the timeout from the end of the request body: a slow upload to a quick origin is not a 504", async () => {
    let sent = 0;
    const slowBody = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= 6) return c.close();
        await new Promise((r) => setTimeout(r, 100));
        c.enqueue(new Uint8Array(10).fill(sent++));
      },
    });
    // The service's timeout is 300 ms; the body takes about 600 ms to send.
    const res = await call("/proxy/shop/upload", {
      method: "POST",
      body: slowBody,
      headers: { "x-request-id": "slow-upload-1" },
    });
    expect(res.status).toBe(200);
    expect((await res.json<{ bytes: number }>()).bytes).toBe(60);
    expect(await recordOf("slow-upload-1")).toMatchObject({ status: 200, request_bytes: 60 });
  });

  it("records an origin that breaks off mid-body as an error, not as a client that left", async () => {
    const res = await call("/proxy/shop/broken", { headers: { "x-request-id": "broken-1" } });
    await expect(res.text()).rejects.toThrow();
    const log = await recordOf("broken-1");
    expect(log.error).toContain("broke off");
    expect(log.attributes).toBeNull();
  });

  it("answers 504 with the request id when the origin is slower than the service's timeout", async () => {
    const res = await call("/proxy/shop/slow?ms=2000", { headers: { "x-request-id": "slow-1" } });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: "origin_timeout", details: { request_id: "slow-1" } } });
    const log = await recordOf("slow-1");
    expect(log).toMatchObject({ status: 504, error: expect.stringContaining("300 ms") });
  });

  it("passes WebSocket upgrades through", async () => {
    const res = await call("/proxy/shop/ws", { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket;
    if (!ws) throw new Error("no websocket");
    ws.accept();
    const reply = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.send("hi");
    expect(await reply).toBe("echo:hi");
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.close(1000, "done");
    expect(await closed).toBe(1000);
  });

  it("proxies a whole request whose Host is a service hostname", async () => {
    const viaHost = await exports.default.fetch(
      new Request("http://api.shop.test/echo?z=9", { headers: { "x-request-id": "host-1" } }),
    );
    expect(viaHost.status).toBe(200);
    const echo = await viaHost.json<{ path: string; query: string }>();
    expect(echo).toMatchObject({ path: "/echo", query: "?z=9" });
    expect((await recordOf("host-1")).service).toBe("shop");
  });
});

describe("reverse proxy: silent failures and consistency", () => {
  const cases: [string, { response_empty: boolean; inconsistent: boolean }][] = [
    ["/empty", { response_empty: true, inconsistent: false }],
    ["/null", { response_empty: true, inconsistent: false }],
    ["/empty-object", { response_empty: true, inconsistent: false }],
    ["/empty-array", { response_empty: true, inconsistent: false }],
    ["/items", { response_empty: false, inconsistent: false }],
    ["/no-content", { response_empty: false, inconsistent: false }],
    ["/error-in-200", { response_empty: false, inconsistent: true }],
    ["/success-in-500", { response_empty: false, inconsistent: true }],
  ];
  for (const [path, flags] of cases) {
    it(`${path} is recorded with ${JSON.stringify(flags)}`, async () => {
      const id = `flags-${path.slice(1)}`;
      const res = await call(`/proxy/shop${path}`, { headers: { "x-request-id": id } });
      await res.arrayBuffer();
      expect(await recordOf(id)).toMatchObject(flags);
    });
  }
});

describe("reverse proxy: safety", () => {
  it("unknown services are a JSON 404 and nothing is forwarded", async () => {
    for (const path of ["/proxy/nope/echo", "/proxy/shop@evil.test/echo", "/proxy/nope"]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("service_not_found");
    }
  });

  it("the origin is never taken from the request", async () => {
    const attempts = [
      "/proxy/shop/@evil.test/echo",
      "/proxy/shop//evil.test/echo",
      "/proxy/shop/%2F%2Fevil.test/echo",
      "/proxy/shop/http://evil.test/echo",
    ];
    for (const path of attempts) {
      const res = await call(path);
      const text = await res.text();
      // Whatever the origin answered, it answered as origin.test: the request stayed there.
      expect(text, path).not.toContain('evil.test"');
      if (res.status === 200)
        expect((JSON.parse(text) as { url: string }).url, path).toMatch(/^http:\/\/origin\.test\//);
    }
  });

  it("dot segments, raw or encoded, never leave the service's base path", async () => {
    // The URL parser resolves dot segments before routing: what is left is either another
    // monitor route (a 404 here) or a path still below the service.
    for (const path of [
      "/proxy/based/%2e%2e/echo",
      "/proxy/based/a/%2E%2E/echo",
      "/proxy/based/x/../echo",
      "/proxy/based/a/%2e%2e/%2e%2e/echo",
    ]) {
      const res = await call(path);
      const text = await res.text();
      if (res.status === 200)
        expect((JSON.parse(text) as { url: string }).url, path).toMatch(/^http:\/\/origin\.test\/base\//);
      else expect(res.status, path).toBe(404);
    }
    // Backslashes (raw or encoded) are refused outright: some origins treat them as slashes.
    for (const path of ["/proxy/based/a%5c..%5cecho", "/proxy/based/a%5C%2e%2e%5Cecho"]) {
      const res = await call(path);
      expect(res.status, path).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_path");
    }
  });

  it("an absolute-form URL for another host reaches the monitor API, not an origin", async () => {
    const res = await exports.default.fetch(new Request("http://evil.test/proxy/shop/echo"));
    const echo = await res.json<{ url: string }>();
    expect(echo.url).toBe("http://origin.test/echo");
  });

  it("never stores Authorization, Cookie or Set-Cookie", async () => {
    const res = await call("/proxy/shop/echo?token=abc", {
      headers: { authorization: "Bearer super-secret-token", cookie: "session=s3cr3t", "x-request-id": "secret-1" },
    });
    // Not passed on either: a cookie set through the path-prefixed proxy would be the monitor host's.
    expect(res.headers.get("set-cookie")).toBeNull();
    await res.arrayBuffer();
    const log = await recordOf("secret-1");
    const stored = JSON.stringify(log);
    for (const secret of ["super-secret-token", "s3cr3t", "sid=1", "abc"]) expect(stored).not.toContain(secret);
    expect(log.path).toBe("/echo?token=[redacted]");
  });
});

describe("reverse proxy: recording switches", () => {
  it("recording off: forwards but records nothing", async () => {
    const res = await call("/proxy/quiet/items", { headers: { "x-request-id": "quiet-1" } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
    expect(await logsFor("quiet-1")).toHaveLength(0);
  });

  it("sampling stores about 1 in N raw records while the endpoint's counters stay exact", async () => {
    const n = 80;
    for (let i = 0; i < n; i++) {
      const res = await call("/proxy/sampled/items", { headers: { "x-request-id": `sampled-${i}` } });
      await res.arrayBuffer();
    }
    const stub = env.ENDPOINT_MONITOR.get(env.ENDPOINT_MONITOR.idFromName("sampled GET /items"));
    for (let i = 0; i < 40 && (await stub.stats()).received < n; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await stub.stats()).received).toBe(n);
    await flushAll();
    const { body } = await getJson<{ logs: Log[] }>("/v1/logs?service=sampled&limit=1000");
    // 1 in 4 expected: 20 of 80; a binomial draw stays within 5..40 with overwhelming probability.
    expect(body.logs.length).toBeGreaterThanOrEqual(5);
    expect(body.logs.length).toBeLessThanOrEqual(40);
  });
});
