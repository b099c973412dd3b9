/**
 * Where alert channels may point, and how their URLs are shown: https to a public host only
 * (private, loopback, link-local, CGNAT, ULA, multicast and reserved addresses in every spelling
 * the URL parser accepts, and internal names, refused with a 400 naming the reason), loopback
 * only with ALLOW_LOOPBACK_ALERT_URLS=true (vitest.config.ts sets it; these tests also run the
 * worker with it off), checked again before every send; and a Slack-like URL never shown whole.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { channelUrlProblems, maskChannelUrl, parseIPv6 } from "../src/alerts/channel-url";
import type { StoredChannel } from "../src/alerts/channels";
import type { AlertMessage } from "../src/alerts/payloads";
import { deliver, maskChannelInError } from "../src/alerts/send";
import { alertChannels } from "../src/db/schema";
import worker from "../src/index";
import { ADMIN_KEY, BASE, call } from "./helpers";

type ErrorBody = { error: { code: string; message: string; details?: string[] } };
type ApiChannel = { id: string; url: string };
type TestAnswer = { delivered: boolean; status_code: number | null; error: string | null };

const STRICT = { allowLoopback: false };
const DEV = { allowLoopback: true };
const hookUrl = (name: string) => `http://127.0.0.1/hooks/${name}`;

/** Calls the worker with the admin key, optionally with ALLOW_LOOPBACK_ALERT_URLS overridden. */
async function admin(path: string, method: string, body?: unknown, loopback?: "true" | "false"): Promise<Response> {
  const init: RequestInit = {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  if (loopback === undefined) return call(path, init);
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, init),
    { ...env, ALLOW_LOOPBACK_ALERT_URLS: loopback },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function received(name: string): Promise<unknown[]> {
  return await (await env.ORIGIN.fetch(hookUrl(name))).json<unknown[]>();
}

/** Stores a channel straight in D1, as one written before the URL policy (or by hand) would be. */
async function storedInD1(url: string, type = "slack"): Promise<string> {
  const id = `ch_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  await drizzle(env.DB).insert(alertChannels).values({
    id,
    type,
    name: "old",
    url,
    secret: null,
    services: null,
    minSeverity: "WARNING",
    enabled: false,
    createdAt: 1,
    updatedAt: 1,
  });
  return id;
}

function channel(url: string, type: StoredChannel["type"] = "slack"): StoredChannel {
  return {
    id: "ch_urlpolicy",
    type,
    name: "t",
    url,
    secret: null,
    services: null,
    min_severity: "WARNING",
    enabled: true,
    created_at: 0,
    updated_at: 0,
  };
}

const message = (): AlertMessage => ({
  id: `msg_test_${crypto.randomUUID()}`,
  event: "test",
  timestamp: Date.now(),
  incident: null,
  dashboard_url: null,
});

describe("alert channel URL policy (pure)", () => {
  it.each([
    ["https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"],
    ["https://10.0.0.5/hook", "10.0.0.5 is a private address (10.0.0.0/8)"],
    ["https://172.16.3.4/h", "private address (172.16.0.0/12)"],
    ["https://192.168.1.1/h", "private address (192.168.0.0/16)"],
    ["https://100.64.0.1/h", "carrier-grade NAT"],
    ["https://0.0.0.0/h", "this network"],
    ["https://224.0.0.251/h", "multicast"],
    ["https://255.255.255.255/h", "broadcast"],
    ["https://198.18.0.1/h", "benchmarking"],
    // Spellings the URL parser turns into dotted quads: decimal, hex, octal, short forms.
    ["https://2852039166/h", "169.254.169.254 is a link-local address"],
    ["https://0xA9FEA9FE/h", "169.254.169.254 is a link-local address"],
    ["https://0251.0376.0251.0376/h", "169.254.169.254 is a link-local address"],
    ["https://10.5/h", "10.0.0.5 is a private address"],
    ["https://169.254.169.254./h", "169.254.169.254 is a link-local address"],
    // IPv6, and IPv4 carried in IPv6.
    [
      "https://[::ffff:169.254.169.254]/h",
      "link-local address (169.254.0.0/16, where cloud metadata services answer), carried in an IPv4-mapped",
    ],
    ["https://[::ffff:a00:5]/h", "private address (10.0.0.0/8), carried in an IPv4-mapped"],
    ["https://[64:ff9b::a9fe:a9fe]/h", "carried in a NAT64 address"],
    ["https://[2002:a00:5::1]/h", "carried in a 6to4 address"],
    ["https://[fd12:3456::1]/h", "unique local address"],
    ["https://[fe80::1]/h", "link-local address (fe80::/10)"],
    ["https://[ff02::1]/h", "multicast address (ff00::/8)"],
    ["https://[::]/h", "unspecified"],
    ["https://[::10.0.0.5]/h", "IPv4-compatible"],
    ["https://[2001:db8::1]/h", "documentation"],
    ["https://[2001::1]/h", "Teredo"],
    // Names that are not public.
    ["https://metadata.google.internal/computeMetadata/v1/", "is a name under .internal"],
    ["https://printer.local/h", "under .local"],
    ["https://hooks.test/h", "under .test"],
    ["https://router.lan/h", "under .lan"],
    ["https://a.example/h", "under .example"],
    ["https://metadata/h", "single-label name"],
    ["https://1.0.0.10.in-addr.arpa/h", "under .arpa"],
    // Plain http to a public host.
    ["http://hooks.example.com/h", "must be https"],
  ])("refuses %s", (url, reason) => {
    const problems = channelUrlProblems(url, DEV);
    expect(problems.join(" | "), url).toContain(reason);
    expect(channelUrlProblems(url, STRICT).length).toBeGreaterThan(0);
  });

  it.each([
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://events.pagerduty.com/v2/enqueue",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/hook",
    "https://hooks.example.com:8443/h?x=1",
    "https://Hooks.Example.COM./h",
  ])("accepts %s", (url) => {
    expect(channelUrlProblems(url, STRICT)).toEqual([]);
  });

  it.each([
    ["http://127.0.0.1:9000/h", "127.0.0.1 is a loopback address"],
    ["https://127.5.5.5/h", "loopback address (127.0.0.0/8)"],
    ["http://0x7f.1/h", "127.0.0.1 is a loopback address"],
    ["http://localhost:8080/h", "loopback name"],
    ["http://LOCALHOST./h", "loopback name"],
    ["http://api.localhost/h", "loopback name"],
    ["http://[::1]:9000/h", "loopback address (::1)"],
    ["http://[::ffff:127.0.0.1]/h", "carried in an IPv4-mapped"],
  ])("allows loopback %s only with ALLOW_LOOPBACK_ALERT_URLS", (url, reason) => {
    expect(channelUrlProblems(url, DEV)).toEqual([]);
    const strict = channelUrlProblems(url, STRICT).join(" | ");
    expect(strict).toContain(reason);
    expect(strict).toContain("ALLOW_LOOPBACK_ALERT_URLS=true");
  });

  it("never lets the development setting open private or link-local addresses", () => {
    for (const url of [
      "http://10.0.0.5/h",
      "http://169.254.169.254/h",
      "https://169.254.169.254/h",
      "http://[fd00::1]/h",
      "http://printer.local/h",
    ]) {
      expect(channelUrlProblems(url, DEV).length, url).toBeGreaterThan(0);
    }
  });

  it("names the host, never the path or query (a Slack token)", () => {
    const problems = channelUrlProblems("http://hooks.slack.com/services/T1/B1/SECRETTOKEN?k=SECRETQUERY", STRICT).join(
      " ",
    );
    expect(problems).toContain("must be https");
    expect(problems).not.toMatch(/SECRET/);
  });

  it("reads IPv6 addresses, compressed or with a dotted quad", () => {
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("fe80::1:2")).toEqual([0xfe80, 0, 0, 0, 0, 0, 1, 2]);
    expect(parseIPv6("::ffff:10.0.0.5")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0005]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ["1::2::3", "1:2:3", "12345::", "::g", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8"])
      expect(parseIPv6(bad), bad).toBeNull();
  });
});

describe("alert channel URL policy (API)", () => {
  it.each([
    [
      "https://169.254.169.254/latest/meta-data/",
      "url: must point at a public host: 169.254.169.254 is a link-local address",
    ],
    ["https://10.0.0.5/hook", "url: must point at a public host: 10.0.0.5 is a private address"],
    ["https://[::ffff:a9fe:a9fe]/hook", "url: must point at a public host: [::ffff:a9fe:a9fe] is a link-local address"],
    [
      "https://metadata.google.internal/x",
      "url: must point at a public host: metadata.google.internal is a name under .internal",
    ],
  ])("POST refuses %s with a 400 that says why", async (url, detail) => {
    const res = await admin("/v1/alert-channels", "POST", { type: "slack", name: "ssrf", url });
    expect(res.status).toBe(400);
    const body = await res.json<ErrorBody>();
    expect(body.error.code).toBe("invalid_request");
    expect(
      body.error.details?.some((d) => d.startsWith(detail)),
      JSON.stringify(body),
    ).toBe(true);
  });

  it("accepts loopback only with ALLOW_LOOPBACK_ALERT_URLS=true, on POST and PUT", async () => {
    const loop = { type: "slack", name: "local", url: "http://127.0.0.1:9000/h" };
    const refused = await admin("/v1/alert-channels", "POST", loop, "false");
    expect(refused.status).toBe(400);
    expect((await refused.json<ErrorBody>()).error.details?.join(" ")).toContain(
      "127.0.0.1 is a loopback address (127.0.0.0/8), allowed only with ALLOW_LOOPBACK_ALERT_URLS=true",
    );
    const made = await admin("/v1/alert-channels", "POST", loop, "true");
    expect(made.status).toBe(201);
    const { id } = await made.json<ApiChannel>();
    const put = await admin(`/v1/alert-channels/${id}`, "PUT", { ...loop, url: "http://localhost:9000/h" }, "false");
    expect(put.status).toBe(400);
    expect(
      (await admin(`/v1/alert-channels/${id}`, "PUT", { ...loop, url: "https://10.0.0.5/h" }, "true")).status,
    ).toBe(400);
    expect(
      (await admin(`/v1/alert-channels/${id}`, "PUT", { ...loop, url: "https://hooks.example.com/h" }, "false")).status,
    ).toBe(200);
  });

  it("checks again at send time: /test refuses a stored URL the policy refuses, and nothing is sent", async () => {
    const privateId = await storedInD1("https://10.0.0.5/hook");
    const answer = await (await admin(`/v1/alert-channels/${privateId}/test`, "POST", {})).json<TestAnswer>();
    expect(answer).toMatchObject({ delivered: false, status_code: null });
    expect(answer.error).toContain(
      "not sent: the channel URL must point at a public host: 10.0.0.5 is a private address",
    );

    const loopId = await storedInD1(hookUrl("url-policy-send"));
    const off = await (await admin(`/v1/alert-channels/${loopId}/test`, "POST", {}, "false")).json<TestAnswer>();
    expect(off.delivered).toBe(false);
    expect(off.error).toContain("ALLOW_LOOPBACK_ALERT_URLS=true");
    expect(await received("url-policy-send")).toHaveLength(0);
    const on = await (await admin(`/v1/alert-channels/${loopId}/test`, "POST", {}, "true")).json<TestAnswer>();
    expect(on).toMatchObject({ delivered: true, status_code: 200 });
    expect(await received("url-policy-send")).toHaveLength(1);

    // The refusal is recorded like any failed attempt.
    const rows = await env.DB.prepare("SELECT status, error FROM alert_deliveries WHERE channel_id = ?")
      .bind(privateId)
      .all<{ status: string; error: string }>();
    expect(rows.results).toEqual([{ status: "failed", error: expect.stringContaining("not sent") }]);
  });

  it("deliver() refuses before any request, under the worker's setting unless told otherwise", async () => {
    const calls: string[] = [];
    const spy = async (request: Request) => {
      calls.push(request.url);
      return new Response("ok");
    };
    const metadata = await deliver(channel("https://169.254.169.254/latest/meta-data/"), message(), spy);
    expect(metadata).toMatchObject({ ok: false, status: null });
    expect(metadata.error).toContain("link-local");
    expect(await deliver(channel("http://127.0.0.1/h"), message(), spy, { allowLoopback: false })).toMatchObject({
      ok: false,
    });
    expect(calls).toEqual([]);
    // Without the option, the worker's ALLOW_LOOPBACK_ALERT_URLS (true in vitest.config.ts) decides: the outbox's path.
    expect(await deliver(channel("http://127.0.0.1/h"), message(), spy)).toMatchObject({ ok: true, status: 200 });
    expect(calls).toEqual(["http://127.0.0.1/h"]);
  });
});

describe("masking channel URLs", () => {
  const TOKEN = "XXXXSECRETTOKEN";
  it.each([
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}/`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}//`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000//${TOKEN}`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}/extra`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}?x=${TOKEN}`,
      "https://hooks.slack.com/services/T000/B000/[redacted]?x=[redacted]",
    ],
    [
      "slack",
      `HTTPS://HOOKS.SLACK.COM/SERVICES/T000/B000/${TOKEN}`,
      "https://hooks.slack.com/SERVICES/T000/B000/[redacted]",
    ],
    [
      "slack",
      `https://hooks.slack.com./services/T000/B000/${TOKEN}`,
      "https://hooks.slack.com./services/T000/B000/[redacted]",
    ],
    // A Slack URL in a generic webhook channel is masked too: the host decides, not the type.
    [
      "webhook",
      `https://hooks.slack.com/services/T000/B000/${TOKEN}/`,
      "https://hooks.slack.com/services/T000/B000/[redacted]",
    ],
    [
      "webhook",
      `https://hooks.slack.com/workflows/T000/A000/123/${TOKEN}`,
      "https://hooks.slack.com/workflows/T000/A000/[redacted]",
    ],
    ["webhook", `https://discord.com/api/webhooks/123/${TOKEN}/`, "https://discord.com/api/webhooks/123/[redacted]"],
    [
      "webhook",
      `https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/${TOKEN}/ghi`,
      "https://contoso.webhook.office.com/webhookb2/[redacted]",
    ],
    [
      "webhook",
      `https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=${TOKEN}`,
      "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=[redacted]&sig=[redacted]",
    ],
    // A Slack channel on another host: its last segment is taken as the token.
    ["slack", `https://chat.example.com/hooks/${TOKEN}/`, "https://chat.example.com/hooks/[redacted]"],
    // Other webhooks keep their path; sensitive query values are redacted.
    [
      "webhook",
      `https://hooks.example.com/in/alerts?token=${TOKEN}&team=ops`,
      "https://hooks.example.com/in/alerts?token=[redacted]&team=ops",
    ],
    ["webhook", "not a url", "[redacted]"],
  ])("%s %s", (type, url, shown) => {
    const masked = maskChannelUrl(type, url);
    expect(masked).toBe(shown);
    expect(masked).not.toContain(TOKEN);
  });

  it("the API never shows the token of a Slack URL with a trailing slash, and a PUT of the masked URL keeps it", async () => {
    const url = `https://hooks.slack.com/services/T000/B000/${TOKEN}/`;
    const res = await admin("/v1/alert-channels", "POST", { type: "slack", name: "trailing", url });
    expect(res.status).toBe(201);
    const ch = await res.json<ApiChannel>();
    expect(ch.url).toBe("https://hooks.slack.com/services/T000/B000/[redacted]");
    for (const path of [`/v1/alert-channels/${ch.id}`, "/v1/alert-channels"]) {
      expect(await (await admin(path, "GET")).text()).not.toContain(TOKEN);
    }
    expect(
      (await admin(`/v1/alert-channels/${ch.id}`, "PUT", { type: "slack", name: "renamed", url: ch.url })).status,
    ).toBe(200);
    const row = await drizzle(env.DB).select().from(alertChannels).where(eq(alertChannels.id, ch.id)).get();
    expect(row?.url).toBe(url);
  });

  it("masks the URL in delivery errors, trailing slash and all", () => {
    const url = `https://hooks.slack.com/services/T000/B000/${TOKEN}/`;
    const text = maskChannelInError(channel(url), `TypeError: fetch to ${url} failed (${encodeURIComponent(url)})`);
    expect(text).not.toContain(TOKEN);
    // The outgoing-text scrubber may mask more of it (the whole path after /services/), never less.
    expect(text).toMatch(/^TypeError: fetch to https:\/\/hooks\.slack\.com\/services\/\S*\[redacted\] failed/);
  });
});
