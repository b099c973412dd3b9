/**
 * Privacy through the worker: secrets in URL paths, user agents, consumers and request ids never
 * reach what is stored or shown (`GET /v1/logs`, `GET /v1/endpoints`, `GET /metrics`), whichever
 * way the record came in (`POST /v1/logs`, the proxy, OTLP, tail); emails are redacted unless
 * `REDACT_EMAILS` is "false".
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { BASE, INGEST_KEY, READ_KEY, call, flushAll, getJson, postLogs } from "./helpers";
import { JWT, SECRET_PATHS } from "./secrets";

// Every test flushes every endpoint object of the file: slow on a loaded machine.
vi.setConfig({ testTimeout: 30_000 });

const MINUTE = 60_000;
const SECRETS = SECRET_PATHS.map((s) => s.secret);
const UA_SECRET = "AKIAIOSFODNN7EXAMPLE";
const CONSUMER_SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const REQUEST_ID_SECRET = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

type Log = {
  path: string;
  route: string;
  user_agent: string | null;
  consumer: string | null;
  request_id: string | null;
  error: string | null;
  source: string;
};

/** What the read API and the scrape say about a service: its logs, and its routes (`/v1/endpoints` and `/metrics`). */
async function everythingShown(service: string): Promise<{ logs: string; routes: string }> {
  const logs = await getJson<unknown>(`/v1/logs?service=${service}&limit=1000`);
  const endpoints = await getJson<unknown>(`/v1/endpoints?service=${service}`);
  const metrics = await call("/metrics", { headers: { Authorization: `Bearer ${READ_KEY}` } });
  return { logs: JSON.stringify(logs.body), routes: `${JSON.stringify(endpoints.body)}\n${await metrics.text()}` };
}

async function logsOf(service: string): Promise<Log[]> {
  await flushAll();
  const { body } = await getJson<{ logs: Log[] }>(`/v1/logs?service=${service}&limit=1000`);
  return body.logs;
}

/** The stored form of the four paths of the routing test. */
function redactedForm(path: string): string {
  return path
    .replace(JWT, "[redacted]")
    .replace("5555-5555-5555-4444", "[redacted]")
    .replace("SECRET123abc", "[redacted]")
    .replace(/https%3A.*$/, "[redacted]");
}

function expectNoSecret(text: string, secrets: string[]): void {
  for (const secret of secrets) expect(text, secret).not.toContain(secret);
}

describe("POST /v1/logs", () => {
  // The test config caps a service at 5 routes: one service per group of 4 secret shapes.
  const groups = [0, 4, 8, 12].map((start) => SECRET_PATHS.slice(start, start + 4));

  it.each(groups.map((g, i) => [i, g] as const))(
    "stores no secret in path, route, user_agent, consumer or request_id, nor shows one in /v1/endpoints or /metrics (group %i)",
    async (i, group) => {
      const service = `priv-ingest-${i}`;
      // Each path four minutes ago, then again now: the minute closes, the endpoint evaluates and publishes.
      const past = Math.floor(Date.now() / MINUTE) * MINUTE - 4 * MINUTE;
      const records = group.flatMap(({ path }, j) =>
        [past + j, Date.now() - 1000].map((timestamp) => ({
          timestamp,
          service,
          method: "GET",
          path,
          status: 200,
          latency_ms: 10,
          user_agent: `client/1.0 (${UA_SECRET})`,
          consumer: CONSUMER_SECRET,
          request_id: REQUEST_ID_SECRET,
        })),
      );
      const res = await postLogs(records, { sync: true });
      expect(res.status).toBe(202);
      expect((await res.json<{ accepted: number }>()).accepted).toBe(records.length);
      const logs = await logsOf(service);
      expect(logs).toHaveLength(records.length);
      for (const log of logs) {
        expect(log.user_agent).toBe("client/1.0 ([redacted])");
        expect(log.consumer).toBe("[redacted]");
        expect(log.request_id).toBe("[redacted]");
      }
      const routes = [...new Set(logs.map((l) => l.route))].sort();
      expect(routes).toHaveLength(group.length);
      expect(routes).not.toContain("/:other");
      const shown = await everythingShown(service);
      for (const route of routes) {
        expect(shown.routes).toContain(`"route":"${route}"`);
        expect(shown.routes).toContain(`route="${route}"`);
      }
      expectNoSecret(shown.logs, [...SECRETS, UA_SECRET, CONSUMER_SECRET, REQUEST_ID_SECRET]);
      // The matrix parameter stays in the stored path (its value redacted) but never reaches a route.
      expectNoSecret(shown.routes, [...SECRETS, "jsessionid"]);
    },
  );

  it("routes each shape as :id when it is id-shaped, :redacted otherwise, and drops matrix parameters", async () => {
    const paths: Record<string, string> = {
      [`/verify/${JWT}`]: "/verify/:id",
      "/cards/5555-5555-5555-4444/charge": "/cards/:redacted/charge",
      "/cart;jsessionid=SECRET123abc/items": "/cart/items",
      "/go/https%3A%2F%2Fuser%3Apa55w0rd%40example.com": "/go/:redacted",
    };
    const records = Object.keys(paths).map((path) => ({
      timestamp: Date.now() - 1000,
      service: "priv-routes",
      method: "GET",
      path,
      status: 200,
      latency_ms: 1,
    }));
    expect((await postLogs(records, { sync: true })).status).toBe(202);
    const logs = await logsOf("priv-routes");
    expect(
      Object.fromEntries(logs.map((l) => [Object.keys(paths).find((p) => redactedForm(p) === l.path), l.route])),
    ).toEqual(paths);
  });

  it("redacts emails in path, query and error by default and keeps them with REDACT_EMAILS=false", async () => {
    const record = (service: string) => ({
      timestamp: Date.now() - 1000,
      service,
      method: "GET",
      path: "/users/alice@example.com/orders?email=bob%40example.org",
      status: 404,
      latency_ms: 3,
      error: "no account for carol@example.com",
    });
    await postLogs([record("priv-email-on")], { sync: true });
    const ctx = createExecutionContext();
    const off = await worker.fetch(
      new Request(`${BASE}/v1/logs?sync=1`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify([record("priv-email-off")]),
      }),
      { ...env, REDACT_EMAILS: "false" },
      ctx,
    );
    expect(off.status).toBe(202);
    await waitOnExecutionContext(ctx);

    const [on] = await logsOf("priv-email-on");
    expect(on?.path).toBe("/users/[email redacted]/orders?email=[email redacted]");
    expect(on?.error).toBe("no account for [email redacted]");
    expect(on?.route).toBe("/users/:id/orders");
    const [kept] = await logsOf("priv-email-off");
    expect(kept?.path).toBe("/users/alice@example.com/orders?email=bob%40example.org");
    expect(kept?.error).toBe("no account for carol@example.com");
    expect(kept?.route).toBe("/users/:id/orders");
  });
});

describe("the proxy", () => {
  /** The proxy's record of one request, once its waitUntil hand-off has landed. */
  async function proxied(
    path: string,
    headers: Record<string, string>,
    match: (l: Log) => boolean,
  ): Promise<Log | undefined> {
    const res = await call(`/proxy/shop${path}`, { headers });
    await res.arrayBuffer();
    for (let i = 0; i < 40; i++) {
      const log = (await logsOf("shop")).find((l) => l.source === "proxy" && match(l));
      if (log) return log;
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  }

  it("records a proxied request with its path, query, user agent and request id scrubbed", async () => {
    const log = await proxied(
      `/echo?t=${JWT}&email=dave%40example.com`,
      { "User-Agent": `probe/2 ${UA_SECRET}`, "X-Request-ID": REQUEST_ID_SECRET },
      (l) => l.path.startsWith("/echo?t="),
    );
    expect(log?.path).toBe("/echo?t=[redacted]&email=[email redacted]");
    expect(log?.route).toBe("/echo");
    expect(log?.user_agent).toBe("probe/2 [redacted]");
    expect(log?.request_id).toBe("[redacted]");
  });

  it("keeps a secret path segment out of the proxied record's path and route", async () => {
    const log = await proxied(
      `/verify/${JWT}`,
      { "X-Request-ID": "priv-proxy-2" },
      (l) => l.request_id === "priv-proxy-2",
    );
    expect(log?.path).toBe("/verify/[redacted]");
    expect(log?.route).not.toContain(JWT.slice(0, 20));
  });
});

describe("OTLP", () => {
  it("scrubs url.path, http.route and user_agent.original of a span", async () => {
    const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const start = BigInt(Date.now() - 2000) * 1_000_000n;
    const span = {
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: "00000000000000a1",
      name: "GET",
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 5_000_000n).toString(),
      attributes: [
        str("http.request.method", "GET"),
        str("url.path", "/keys/AKIAIOSFODNN7EXAMPLE"),
        str("http.route", "/hooks/sk_live_4eC39HqLyjWDarjtT1zdp7dc;jsessionid=SECRET123abc"),
        str("user_agent.original", `otel/1 ${JWT}`),
        { key: "http.response.status_code", value: { intValue: "200" } },
      ],
      status: { code: 0 },
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/otlp/v1/traces`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          resourceSpans: [
            { resource: { attributes: [str("service.name", "priv-otlp")] }, scopeSpans: [{ spans: [span] }] },
          ],
        }),
      }),
      env,
      ctx,
    );
    expect(res.status).toBe(200);
    await waitOnExecutionContext(ctx);
    const [log] = await logsOf("priv-otlp");
    expect(log?.path).toBe("/keys/[redacted]");
    expect(log?.route).toBe("/hooks/:id");
    expect(log?.user_agent).toBe("otel/1 [redacted]");
  });
});

describe("tail()", () => {
  it("scrubs the path, route and user agent of a tailed request", async () => {
    const request: TraceItemFetchEventInfoRequest = {
      url: `https://api.example.com/verify/${JWT}/cards/4111111111111111?code=abc`,
      method: "GET",
      headers: { "user-agent": `tailclient ${CONSUMER_SECRET}`, "x-request-id": UA_SECRET },
      cf: { colo: "AMS" },
      getUnredacted: () => request,
    };
    const item = {
      event: { request, response: { status: 200 } },
      eventTimestamp: Date.now() - 2000,
      logs: [],
      exceptions: [],
      diagnosticsChannelEvents: [],
      scriptName: "priv-tail",
      outcome: "ok",
      executionModel: "stateless",
      truncated: false,
      cpuTime: 1,
      wallTime: 5,
    } as unknown as TraceItem;
    const ctx = createExecutionContext();
    await worker.tail([item], env, ctx);
    await waitOnExecutionContext(ctx);
    const [log] = await logsOf("priv-tail");
    expect(log?.path).toBe("/verify/[redacted]/cards/[redacted]?code=[redacted]");
    expect(log?.route).toBe("/verify/:id/cards/:id");
    expect(log?.user_agent).toBe("tailclient [redacted]");
    expect(log?.request_id).toBe("[redacted]");
  });
});
