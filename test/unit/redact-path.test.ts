/**
 * Secrets in URL paths and in the other text fields of a record: redacted before the path is
 * stored or a route is built, by every shape the issue lists; ordinary paths left alone; emails
 * redacted unless the setting turns that off; linear time on adversarial input.
 */
import { describe, expect, it } from "vitest";
import { normaliseRecord, type NormaliseContext } from "../../src/ingest/record";
import {
  EMAIL_REDACTED,
  isRandomToken,
  isSecretSegment,
  REDACTED,
  redactEmails,
  redactRequestPath,
  scrubText,
} from "../../src/redact";
import { redactRoute, templateRoute } from "../../src/ingest/route-template";
import { buildRecord } from "../../src/middleware/request-record";
import { JWT, ORDINARY_PATHS, SECRET_PATHS } from "../secrets";

const NOW = Date.UTC(2026, 0, 1, 12);
const ctx = (redactEmails?: boolean): NormaliseContext => ({
  now: NOW,
  retentionMs: 86_400_000,
  newKey: () => "k",
  redactEmails,
});

function normalise(fields: Record<string, unknown>, redactEmails?: boolean) {
  const result = normaliseRecord(
    { timestamp: NOW - 1000, service: "svc", method: "GET", path: "/x", status: 200, latency_ms: 1, ...fields },
    ctx(redactEmails),
  );
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.record;
}

describe("secret-shaped path segments", () => {
  for (const { name, secret, path } of SECRET_PATHS) {
    it(`keeps a ${name} out of the stored path and the route`, () => {
      const record = normalise({ path });
      expect(record.path).not.toContain(secret);
      expect(record.path).toContain(REDACTED);
      expect(record.route).not.toContain(secret);
      // A client that sends its raw path as the route gets the same treatment.
      const named = normalise({ path, route: path });
      expect(named.route).not.toContain(secret);
      expect(named.path).not.toContain(secret);
    });
  }

  it("stores [redacted] in place of the segment and routes an id-shaped secret as :id, any other as :redacted", () => {
    expect(redactRequestPath(`/verify/${JWT}`)).toBe("/verify/[redacted]");
    expect(templateRoute(`/verify/${JWT}`)).toBe("/verify/:id");
    expect(redactRequestPath("/cards/4111111111111111")).toBe("/cards/[redacted]");
    expect(templateRoute("/cards/4111111111111111")).toBe("/cards/:id");
    expect(templateRoute("/cards/5555-5555-5555-4444/charge")).toBe("/cards/:redacted/charge");
    expect(redactRequestPath("/hooks/sk_live_4eC39HqLyjWDarjtT1zdp7dc?x=1")).toBe("/hooks/[redacted]?x=1");
    expect(redactRequestPath("/redirect/https://user:pa55w0rd@example.com/next")).toBe(
      "/redirect/https://[redacted]@example.com/next",
    );
    expect(templateRoute("/connect/admin:hunter2@db-internal")).toBe("/connect/:redacted");
    expect(templateRoute("/go/https%3A%2F%2Fuser%3Apa55w0rd%40example.com")).toBe("/go/:redacted");
    expect(redactRoute("/slack/xoxb-1234-5678-AbCdEfGh")).toBe("/slack/:redacted");
  });

  it("drops matrix parameters from the route and redacts sensitive ones in the path", () => {
    const record = normalise({ path: "/cart;jsessionid=SECRET123abc/items;v=2?page=1" });
    expect(record.path).toBe("/cart;jsessionid=[redacted]/items;v=2?page=1");
    expect(record.route).toBe("/cart/items");
    expect(normalise({ path: "/x", route: "/cart;jsessionid=SECRET123abc/items" }).route).toBe("/cart/items");
    expect(redactRequestPath("/doc;token=eyJhbGciOiJIUzI1NiJ9.e30.abc")).toBe("/doc;token=[redacted]");
    expect(redactRequestPath(`/doc;x=${JWT}`)).toBe("/doc;x=[redacted]");
  });

  it("finds shapes in the query whatever the key", () => {
    expect(redactRequestPath(`/cb?state=ok&t=${JWT}`)).toBe("/cb?state=ok&t=[redacted]");
    expect(redactRequestPath("/cb?next=https://u:pw@example.com/")).toBe("/cb?next=https://[redacted]@example.com/");
    expect(redactRequestPath("/pay?n=4111111111111111")).toBe("/pay?n=[card redacted]");
  });

  it("is idempotent: a path the middleware redacted is stored and routed the same", () => {
    for (const { path } of SECRET_PATHS) {
      const once = redactRequestPath(path, { emails: true });
      expect(redactRequestPath(once, { emails: true })).toBe(once);
      expect(templateRoute(once)).not.toContain("redacted]");
    }
  });

  it("leaves a route named by the client alone when it holds no secret", () => {
    for (const route of ["/orders/:id", "/posts/:id{[0-9]+}", "/api/*", "/users/{userId}/orders", "/v1/orders/123"]) {
      expect(normalise({ route }).route).toBe(route);
    }
  });
});

describe("ordinary paths", () => {
  for (const { path, route } of ORDINARY_PATHS) {
    it(`stores ${path} as written and routes it as ${route}`, () => {
      const record = normalise({ path });
      expect(record.path).toBe(path);
      expect(record.route).toBe(route);
    });
  }

  it("does not take ids, names, versions or hashes for secrets", () => {
    for (const segment of [
      "123",
      "me",
      "550e8400-e29b-41d4-a716-446655440000",
      "9f86d081",
      "2024-01-15",
      "v2",
      "oauth2-callback-v2",
      "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      "cus_9s6XKzkNRiz8i3",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "lodash@4.17.21",
      "icon@2x.png",
      "REDACTED",
      "Annual-Report-2024-Final-Version",
      "AAAAAAAAAAAAaaaaaaaaaaaa1111",
    ]) {
      expect(isSecretSegment(segment), segment).toBe(false);
    }
    expect(isRandomToken("Zx8kP2qLmN4vB7wR1tY6uI3oAe5s")).toBe(true);
  });

  it("keeps npm-style versions and image densities that look a little like emails", () => {
    for (const path of [
      "/npm/lodash@4.17.21/lodash.min.js",
      "/npm/@babel/core@7.24.0",
      "/img/icon@2x.png",
      "/img/logo@1.5x.webp",
      "/pkg@latest/x",
    ]) {
      expect(normalise({ path }).path).toBe(path);
    }
  });
});

describe("emails", () => {
  it("are redacted in path, query, error and attributes by default; the route keeps :id", () => {
    const record = normalise({
      path: "/users/alice@example.com/orders?email=bob%40example.org&page=2",
      error: "no account for carol.d+shop@mail.example.co.uk",
      attributes: { note: "ping dave@example.com" },
    });
    expect(record.path).toBe(`/users/${EMAIL_REDACTED}/orders?email=${EMAIL_REDACTED}&page=2`);
    expect(record.route).toBe("/users/:id/orders");
    expect(record.error).toBe(`no account for ${EMAIL_REDACTED}`);
    expect(record.attributes).toEqual({ note: `ping ${EMAIL_REDACTED}` });
  });

  it("are kept as written when the setting is off (REDACT_EMAILS=false)", () => {
    const path = "/users/alice@example.com/orders?email=bob%40example.org&page=2";
    const record = normalise(
      { path, error: "no account for carol@example.com", user_agent: "bot/1 (+mailto:ops@example.com)" },
      false,
    );
    expect(record.path).toBe(path);
    expect(record.route).toBe("/users/:id/orders");
    expect(record.error).toBe("no account for carol@example.com");
    expect(record.user_agent).toBe("bot/1 (+mailto:ops@example.com)");
    // Secrets are redacted whatever the setting.
    expect(normalise({ path: `/verify/${JWT}` }, false).path).toBe("/verify/[redacted]");
  });

  it("are found by a scan that leaves non-addresses alone", () => {
    expect(redactEmails("to a@b.io, c.d@e-f.example.com.")).toBe(`to ${EMAIL_REDACTED}, ${EMAIL_REDACTED}.`);
    for (const text of ["@handle", "a@b", "user@localhost", "x@1.2.3", "@@@", "a@.com", "pkg@latest"])
      expect(redactEmails(text)).toBe(text);
    expect(scrubText("ops@example.com")).toBe("ops@example.com");
    expect(scrubText("ops@example.com", { emails: true })).toBe(EMAIL_REDACTED);
  });
});

describe("user_agent, consumer and request_id", () => {
  const shortJwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const shapes = [
    shortJwt,
    "4111 1111 1111 1111",
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
    "https://user:pa55w0rd@example.com",
  ];

  for (const secret of shapes) {
    it(`never keep ${secret.slice(0, 24)}…`, () => {
      const record = normalise({ user_agent: `client/1.0 (${secret})`, consumer: secret, request_id: secret });
      for (const field of [record.user_agent, record.consumer, record.request_id]) {
        expect(field).not.toContain(secret.includes("pa55w0rd") ? "pa55w0rd" : secret);
        expect(field).toContain("redacted");
      }
    });
  }

  it("redact a consumer that is itself a random token and keep ordinary values", () => {
    expect(normalise({ consumer: "Zx8kP2qLmN4vB7wR1tY6uI3oAe5s" }).consumer).toBe(REDACTED);
    const ua =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const record = normalise({
      user_agent: ua,
      consumer: "acme-corp",
      request_id: "550e8400-e29b-41d4-a716-446655440000",
    });
    expect(record.user_agent).toBe(ua);
    expect(record.consumer).toBe("acme-corp");
    expect(record.request_id).toBe("550e8400-e29b-41d4-a716-446655440000");
    expect(normalise({ request_id: "9f86d081884c7d659a2feaa0c55ad015" }).request_id).toBe(
      "9f86d081884c7d659a2feaa0c55ad015",
    );
    expect(normalise({ request_id: "4111111111111111" }).request_id).toBe("[card redacted]");
    expect(normalise({ consumer: "alice@example.com" }).consumer).toBe(EMAIL_REDACTED);
    expect(normalise({ consumer: "alice@example.com" }, false).consumer).toBe("alice@example.com");
  });

  it("cut a long user agent at 512 characters after scrubbing it", () => {
    const record = normalise({ user_agent: `${"x".repeat(500)} ${JWT}` });
    expect(record.user_agent).toBe(`${"x".repeat(500)} ${REDACTED}`);
    expect(normalise({ user_agent: "y".repeat(5000) }).user_agent).toHaveLength(512);
  });
});

describe("the Hono middleware's record", () => {
  it("redacts path segments, request id and emails before it leaves the app", () => {
    const built = buildRecord({
      service: "app",
      method: "GET",
      url: `https://app.example/verify/${JWT}/cards/4111111111111111;jsessionid=abc?email=a%40b.io`,
      route: "",
      status: 200,
      startedAt: NOW,
      endedAt: NOW + 5,
      requestHeaders: new Headers({ "X-Request-ID": "AKIAIOSFODNN7EXAMPLE" }),
      responseHeaders: new Headers(),
      responseHasBody: true,
    });
    expect(built?.path).toBe(`/verify/[redacted]/cards/[redacted];jsessionid=[redacted]?email=${EMAIL_REDACTED}`);
    expect(built?.request_id).toBe(REDACTED);
  });
});

describe("linear time", () => {
  const units = [
    "a.",
    "a@",
    "a@b.",
    "a:",
    "eyJ",
    "eyJa.",
    "4-",
    "4 ",
    "https:",
    "a;b=",
    "%41",
    "Aa1",
    "x/",
    "://",
    "a:b@",
  ];

  /** Least of five timings (ms) of redacting `unit` repeated `n` times as a path, a route, free text and an email scan. */
  function cost(unit: string, n: number): number {
    const text = unit.repeat(n);
    let best = Infinity;
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      redactRequestPath(`/${text}?q=${text}`, { emails: true });
      templateRoute(`/${text}`);
      redactRoute(`/${text}`, { emails: true });
      scrubText(text, { emails: true });
      redactEmails(text);
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  it("handles inputs far past the field limits (a 2,048-character path) in bounded time", () => {
    const started = performance.now();
    for (const unit of units) {
      const text = unit.repeat(2_000);
      normalise({
        path: `/${text}`.slice(0, 2048),
        route: `/${text}`.slice(0, 256),
        user_agent: text,
        consumer: text.slice(0, 128),
        request_id: text.slice(0, 128),
        error: text,
      });
    }
    for (const unit of units) cost(unit, 20_000);
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it("grows linearly: 8x the input costs far less than the 64x a quadratic pass would", () => {
    for (const unit of units) {
      cost(unit, 1_000); // warm up
      const small = Math.max(cost(unit, 4_000), 5);
      const large = cost(unit, 32_000);
      expect(large / small, unit).toBeLessThan(30);
    }
  }, 60_000);
});
