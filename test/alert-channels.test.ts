import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { channelMatches, loadEnabledChannels, type StoredChannel } from "../src/alerts/channels";
import type { AlertMessage } from "../src/alerts/payloads";
import { slackMessage } from "../src/alerts/slack";
import { deliver } from "../src/alerts/send";
import { generateWebhookSecret, verifyStandardWebhook } from "../src/alerts/sign";
import { incidents } from "../src/db/schema";
import { toApiIncident } from "../src/incidents/api-incident";
import { ADMIN_KEY, READ_KEY, call, getJson } from "./helpers";

type ErrorBody = { error: { code: string; message: string; details?: string[] } };
type ApiChannel = {
  id: string;
  type: string;
  name: string;
  url: string;
  has_secret: boolean;
  services: string[] | null;
  min_severity: string;
  enabled: boolean;
};
type Received = { method: string; headers: Record<string, string>; body: string; answered: number };
type Delivery = {
  message_id: string;
  channel_id: string;
  incident_id: string | null;
  event: string;
  attempt: number;
  at: number;
  status: string;
  response_code: number | null;
  error: string | null;
  duration_ms: number | null;
};

const PD_KEY = "R0UTINGKEY0123456789abcdefABCDEF";

function admin(path: string, method = "GET", body?: unknown): Promise<Response> {
  return call(path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function created(body: Record<string, unknown>): Promise<ApiChannel> {
  const res = await admin("/v1/alert-channels", "POST", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return await res.json<ApiChannel>();
}

// A receiver on loopback (allowed: vitest.config.ts sets ALLOW_LOOPBACK_ALERT_URLS=true); the origin worker answers it.
const hookUrl = (name: string) => `http://127.0.0.1/hooks/${name}`;

async function received(name: string): Promise<Received[]> {
  return await (await env.ORIGIN.fetch(hookUrl(name))).json<Received[]>();
}

async function failNext(name: string, fail: number, status = 503, delayMs = 0): Promise<void> {
  await env.ORIGIN.fetch(`${hookUrl(name)}/config`, {
    method: "POST",
    body: JSON.stringify({ fail, status, delay_ms: delayMs }),
  });
}

function stored(overrides: Partial<StoredChannel>): StoredChannel {
  return {
    id: "ch_test",
    type: "webhook",
    name: "t",
    url: hookUrl("x"),
    secret: null,
    services: null,
    min_severity: "WARNING",
    enabled: true,
    created_at: 0,
    updated_at: 0,
    ...overrides,
  };
}

describe("alert channels: CRUD", () => {
  it("creates, reads, lists, replaces and deletes a webhook channel, never returning its secret", async () => {
    const secret = generateWebhookSecret();
    const ch = await created({
      type: "webhook",
      name: "ops hook",
      url: hookUrl("crud"),
      secret,
      services: ["shop", "shop"],
      min_severity: "critical",
    });
    expect(ch).toMatchObject({
      type: "webhook",
      name: "ops hook",
      url: hookUrl("crud"),
      has_secret: true,
      services: ["shop"],
      min_severity: "CRITICAL",
      enabled: true,
    });
    expect(ch.id).toMatch(/^ch_[a-z0-9]{16}$/);
    expect(ch).not.toHaveProperty("secret");

    const one = await admin(`/v1/alert-channels/${ch.id}`);
    const list = await admin("/v1/alert-channels");
    const listed = await list.clone().json<{ channels: ApiChannel[] }>();
    expect(listed.channels.map((c) => c.id)).toContain(ch.id);
    const replaced = await admin(`/v1/alert-channels/${ch.id}`, "PUT", {
      type: "webhook",
      name: "renamed",
      url: hookUrl("crud"),
    });
    expect(replaced.status).toBe(200);
    const after = await replaced.clone().json<ApiChannel>();
    // Full replace: services and min_severity fall back to their defaults; the secret is kept.
    expect(after).toMatchObject({ name: "renamed", services: null, min_severity: "WARNING", has_secret: true });
    for (const res of [one, list, replaced]) expect(await res.text()).not.toContain(secret.slice(6, 30));

    // The kept secret still signs.
    const test = await (await admin(`/v1/alert-channels/${ch.id}/test`, "POST")).json<{ delivered: boolean }>();
    expect(test.delivered).toBe(true);
    const [got] = await received("crud");
    expect(got && (await verifyStandardWebhook(secret, got.headers, got.body))).toBe(true);

    expect((await admin(`/v1/alert-channels/${ch.id}`, "DELETE")).status).toBe(204);
    const gone = await admin(`/v1/alert-channels/${ch.id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json<ErrorBody>()).error.code).toBe("alert_channel_not_found");
    expect((await admin(`/v1/alert-channels/${ch.id}`, "DELETE")).status).toBe(404);
    expect(
      (await admin(`/v1/alert-channels/${ch.id}`, "PUT", { type: "slack", name: "x", url: hookUrl("x") })).status,
    ).toBe(404);
    expect((await admin(`/v1/alert-channels/${ch.id}/test`, "POST")).status).toBe(404);
  });

  it("fills in defaults: PagerDuty's events URL, WARNING, enabled", async () => {
    const ch = await created({ type: "pagerduty", name: "pd", secret: PD_KEY });
    expect(ch).toMatchObject({
      url: "https://events.pagerduty.com/v2/enqueue",
      min_severity: "WARNING",
      enabled: true,
      has_secret: true,
      services: null,
    });
    const slack = await created({
      type: "slack",
      name: "chat",
      url: "https://hooks.slack.com/services/T000/B000/XXXXSECRETTOKEN",
    });
    expect(slack.has_secret).toBe(false);
    // The Slack URL is a credential: its token segment is masked.
    expect(slack.url).toBe("https://hooks.slack.com/services/T000/B000/[redacted]");
  });

  it("a PUT that sends back the masked Slack URL keeps the stored one; a new secret replaces the old", async () => {
    const ch = await created({ type: "slack", name: "chat", url: `${hookUrl("slack-mask")}` });
    expect(ch.url).toBe("http://127.0.0.1/hooks/[redacted]");
    const put = await admin(`/v1/alert-channels/${ch.id}`, "PUT", { type: "slack", name: "chat 2", url: ch.url });
    expect(put.status).toBe(200);
    expect(await (await admin(`/v1/alert-channels/${ch.id}/test`, "POST")).json<object>()).toMatchObject({
      delivered: true,
      status_code: 200,
    });
    expect(await received("slack-mask")).toHaveLength(1);

    const first = generateWebhookSecret();
    const second = generateWebhookSecret();
    const hook = await created({ type: "webhook", name: "w", url: hookUrl("rotate"), secret: first });
    expect(
      (
        await admin(`/v1/alert-channels/${hook.id}`, "PUT", {
          type: "webhook",
          name: "w",
          url: hookUrl("rotate"),
          secret: second,
        })
      ).status,
    ).toBe(200);
    await admin(`/v1/alert-channels/${hook.id}/test`, "POST");
    const [got] = await received("rotate");
    expect(got && (await verifyStandardWebhook(second, got.headers, got.body))).toBe(true);
    expect(got && (await verifyStandardWebhook(first, got.headers, got.body))).toBe(false);
    // Changing the type drops the old secret: a whsec_ key is no PagerDuty routing key.
    const retyped = await admin(`/v1/alert-channels/${hook.id}`, "PUT", { type: "pagerduty", name: "w" });
    expect(retyped.status).toBe(400);
    expect((await retyped.json<ErrorBody>()).error.details).toEqual([
      expect.stringContaining("secret: required for pagerduty"),
    ]);
  });

  it.each([
    ["no type", { name: "x", url: "https://hooks.example.com/h" }, "type"],
    ["an unknown type", { type: "email", name: "x", url: "https://hooks.example.com/h" }, "type"],
    ["no name", { type: "slack", url: "https://hooks.example.com/h" }, "name"],
    [
      "plain http to a public host",
      { type: "slack", name: "x", url: "http://hooks.example.com/h" },
      "url: must be https",
    ],
    [
      "credentials in the URL",
      { type: "slack", name: "x", url: "https://user:pw@hooks.example.com/h" },
      "url: must not hold credentials",
    ],
    ["a URL that is not one", { type: "slack", name: "x", url: "hooks" }, "url: must be an absolute URL"],
    ["a slack channel without URL", { type: "slack", name: "x" }, "url: required"],
    [
      "a webhook without secret",
      { type: "webhook", name: "x", url: "https://hooks.example.com/h" },
      "secret: required for webhook",
    ],
    [
      "a webhook secret without whsec_",
      { type: "webhook", name: "x", url: "https://hooks.example.com/h", secret: "plain-secret" },
      "secret: must be whsec_",
    ],
    [
      "a webhook secret too short",
      { type: "webhook", name: "x", url: "https://hooks.example.com/h", secret: "whsec_c2hvcnQ=" },
      "secret: must be whsec_",
    ],
    [
      "a slack channel with a secret",
      { type: "slack", name: "x", url: "https://hooks.example.com/h", secret: "x" },
      "secret: a slack channel takes no secret",
    ],
    ["pagerduty without routing key", { type: "pagerduty", name: "x" }, "secret: required for pagerduty"],
    ["a malformed routing key", { type: "pagerduty", name: "x", secret: "short" }, "secret: must be the 32-character"],
    [
      "a bad service name",
      { type: "slack", name: "x", url: "https://hooks.example.com/h", services: ["a b"] },
      "services.0",
    ],
    [
      "an empty service list",
      { type: "slack", name: "x", url: "https://hooks.example.com/h", services: [] },
      "services",
    ],
    [
      "an unknown severity",
      { type: "slack", name: "x", url: "https://hooks.example.com/h", min_severity: "info" },
      "min_severity",
    ],
    ["an unknown field", { type: "slack", name: "x", url: "https://hooks.example.com/h", channel: "#ops" }, "channel"],
  ])("refuses %s with a 400 envelope", async (_label, body, detail) => {
    const res = await admin("/v1/alert-channels", "POST", body);
    expect(res.status).toBe(400);
    const err = await res.json<ErrorBody>();
    expect(err.error.code).toBe("invalid_request");
    expect(
      err.error.details?.some((d) => d.includes(detail)),
      JSON.stringify(err),
    ).toBe(true);
    expect(JSON.stringify(err)).not.toContain("plain-secret");
  });

  it("refuses a body that is not JSON, and accepts plain http to loopback receivers (with the development setting)", async () => {
    const res = await admin("/v1/alert-channels", "POST", "{not json");
    expect(res.status).toBe(400);
    expect((await res.json<ErrorBody>()).error.code).toBe("invalid_body");
    for (const url of ["http://localhost:9000/h", "http://127.0.0.1:9000/h", "http://[::1]:9000/h"])
      await created({ type: "slack", name: "local", url });
  });
});

describe("alert channels: filters", () => {
  it("matches by service and minimum severity; loadEnabledChannels leaves disabled ones out", async () => {
    const all = await created({ type: "slack", name: "all", url: hookUrl("f1") });
    const shopCritical = await created({
      type: "slack",
      name: "shop-crit",
      url: hookUrl("f2"),
      services: ["shop"],
      min_severity: "CRITICAL",
    });
    const off = await created({ type: "slack", name: "off", url: hookUrl("f3"), enabled: false });
    const enabled = await loadEnabledChannels(env.DB);
    const ids = enabled.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining([all.id, shopCritical.id]));
    expect(ids).not.toContain(off.id);
    const a = enabled.find((c) => c.id === all.id) as StoredChannel;
    const s = enabled.find((c) => c.id === shopCritical.id) as StoredChannel;
    expect(channelMatches(a, { service: "billing", severity: "WARNING" })).toBe(true);
    expect(channelMatches(s, { service: "shop", severity: "CRITICAL" })).toBe(true);
    expect(channelMatches(s, { service: "shop", severity: "WARNING" })).toBe(false);
    expect(channelMatches(s, { service: "billing", severity: "CRITICAL" })).toBe(false);
    expect(channelMatches({ ...a, enabled: false }, { service: "shop", severity: "CRITICAL" })).toBe(false);
  });
});

describe("test button and deliveries", () => {
  it("sends a signed test message the receiver verifies, and rejects it tampered", async () => {
    const secret = generateWebhookSecret();
    const ch = await created({ type: "webhook", name: "signed", url: hookUrl("signed"), secret });
    const res = await admin(`/v1/alert-channels/${ch.id}/test`, "POST");
    expect(res.status).toBe(200);
    const answer = await res.json<{
      delivered: boolean;
      status_code: number;
      error: string | null;
      message_id: string;
    }>();
    expect(answer).toMatchObject({ delivered: true, status_code: 200, error: null });
    const [got] = await received("signed");
    if (!got) throw new Error("nothing received");
    expect(got.headers["webhook-id"]).toBe(answer.message_id);
    expect(got.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(got.body)).toMatchObject({ type: "test", data: { test: true, channel_id: ch.id } });
    expect(await verifyStandardWebhook(secret, got.headers, got.body)).toBe(true);
    expect(await verifyStandardWebhook(secret, got.headers, got.body.replace('"test":true', '"test":false'))).toBe(
      false,
    );
    const older = String(Number(got.headers["webhook-timestamp"]) - 1);
    expect(await verifyStandardWebhook(secret, { ...got.headers, "webhook-timestamp": older }, got.body)).toBe(false);
    // Replayed later than the tolerance, the untouched message is refused too.
    expect(await verifyStandardWebhook(secret, got.headers, got.body, 300, Date.now() + 301_000)).toBe(false);
  });

  it("records every attempt with status and response code, filterable and newest first", async () => {
    const ch = await created({ type: "slack", name: "flaky", url: hookUrl("flaky") });
    await failNext("flaky", 1, 503);
    const failed = await (await admin(`/v1/alert-channels/${ch.id}/test`, "POST")).json<object>();
    expect(failed).toMatchObject({ delivered: false, status_code: 503, error: "HTTP 503" });
    const ok = await (await admin(`/v1/alert-channels/${ch.id}/test`, "POST")).json<object>();
    expect(ok).toMatchObject({ delivered: true, status_code: 200, error: null });
    expect((await received("flaky")).map((r) => r.answered)).toEqual([503, 200]);

    const { status, body } = await getJson<{ deliveries: Delivery[] }>(
      `/v1/alert-deliveries?channel_id=${ch.id}`,
      READ_KEY,
    );
    expect(status).toBe(200);
    expect(body.deliveries).toHaveLength(2);
    expect(body.deliveries[0]).toMatchObject({
      channel_id: ch.id,
      incident_id: null,
      event: "test",
      attempt: 1,
      status: "delivered",
      response_code: 200,
      error: null,
    });
    expect(body.deliveries[1]).toMatchObject({ status: "failed", response_code: 503, error: "HTTP 503" });
    expect(body.deliveries[0]?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(body.deliveries[0]?.message_id).toMatch(/^msg_test_/);
    const onlyFailed = await getJson<{ deliveries: Delivery[] }>(
      `/v1/alert-deliveries?channel_id=${ch.id}&status=failed`,
    );
    expect(onlyFailed.body.deliveries.map((d) => d.response_code)).toEqual([503]);
    expect(
      (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${ch.id}&limit=1`)).body.deliveries,
    ).toHaveLength(1);
    expect(
      (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?incident_id=inc_none`)).body.deliveries,
    ).toEqual([]);
    const bad = await getJson<ErrorBody>("/v1/alert-deliveries?status=lost");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
  });

  it("does not follow redirects, and gives up after the timeout", async () => {
    const redirect = stored({ type: "slack", url: "http://127.0.0.1/redirect?to=/echo&status=302" });
    expect(await deliver(redirect, testMessage())).toMatchObject({
      ok: false,
      status: 302,
      error: "redirect (HTTP 302) not followed",
    });
    await failNext("slow", 0, 503, 500);
    const slow = await deliver(stored({ type: "slack", url: hookUrl("slow") }), testMessage(), undefined, {
      timeoutMs: 100,
    });
    expect(slow).toMatchObject({ ok: false, status: null, error: "timeout after 100 ms" });
    const unreachable = await deliver(stored({ type: "webhook", url: hookUrl("x"), secret: null }), testMessage());
    expect(unreachable.ok).toBe(false);
    expect(unreachable.error).toContain("no signing secret");
  });
});

// ---------------------------------------------------------------------------------------------
// Payloads built from a real incident row.

const SECRETS = [
  "Bearer abc.def",
  "abc.def",
  "api_key=sk_live_123",
  "sk_live_123",
  "Cookie: session=xyz",
  "session=xyz",
  "4111 1111 1111 1111",
  "4111111111111111",
];

function testMessage(): AlertMessage {
  return {
    id: `msg_test_${crypto.randomUUID()}`,
    event: "test",
    timestamp: Date.now(),
    incident: null,
    dashboard_url: null,
  };
}

async function leakyIncident(id: string, status: "open" | "resolved" = "open") {
  const now = Date.now();
  const figures = {
    requests_per_minute: 120,
    error_rate: 0.253,
    p95_ms: 850.4,
    p50_ms: 40,
    card: 4111111111111111,
    note: "Cookie: session=xyz",
  };
  await drizzle(env.DB)
    .insert(incidents)
    .values({
      id,
      service: "shop",
      method: "GET",
      route: "/orders/:id",
      severity: "CRITICAL",
      status,
      openedAt: now - 60_000,
      resolvedAt: status === "resolved" ? now : null,
      lastEventAt: now,
      severityScore: 0.9,
      healthScore: 20,
      action: "ESCALATE",
      signals: JSON.stringify([
        { kind: "error_rate_threshold", observed: 0.25, sample: "upstream said Bearer abc.def" },
      ]),
      figures: JSON.stringify({ at_open: figures, latest: figures }),
      explanation:
        "5xx rate 25% (usually 0.1%). Sample error: GET /orders/1?api_key=sk_live_123 failed with Bearer abc.def; Cookie: session=xyz\nnext line kept",
      updatedAt: now,
      aiSummary: JSON.stringify({
        summary: "The payment upstream rejects calls made with Bearer abc.def and card 4111 1111 1111 1111.",
        likely_causes: ["a revoked key api_key=sk_live_123", "bad deploy"],
        suggested_actions: ["roll back the deploy", "check Cookie: session=xyz handling"],
        confidence: 0.6,
      }),
      aiModel: "@cf/test/model",
      aiStatus: "ok",
      aiUpdatedAt: now,
    })
    .onConflictDoNothing();
  const row = await drizzle(env.DB).select().from(incidents).where(eq(incidents.id, id)).get();
  if (!row) throw new Error("no incident");
  return toApiIncident(row);
}

function message(
  incident: Awaited<ReturnType<typeof leakyIncident>>,
  event: AlertMessage["event"],
  dashboard: string | null = "https://dash.example/",
): AlertMessage {
  return {
    id: `msg_${incident.id}_${event.replace(".", "_")}`,
    event,
    timestamp: Date.now(),
    incident,
    dashboard_url: dashboard,
  };
}

describe("payloads", () => {
  it("Slack: Block Kit with severity, endpoint, figures, explanation, AI summary and the dashboard link", async () => {
    const incident = await leakyIncident("inc_slack_shape");
    const result = await deliver(
      stored({ type: "slack", url: hookUrl("slack-shape") }),
      message(incident, "incident.opened"),
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
    const [got] = await received("slack-shape");
    const body = JSON.parse(got?.body ?? "{}") as {
      text: string;
      blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { url?: string }[] }[];
    };
    expect(body.text).toBe("[CRITICAL] shop GET /orders/:id: incident opened");
    expect(body.blocks[0]).toMatchObject({
      type: "header",
      text: { type: "plain_text", text: "CRITICAL · shop GET /orders/:id" },
    });
    const fields = body.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining([
        "*Severity*\nCRITICAL",
        "*Status*\nopen",
        "*Endpoint*\nshop GET /orders/:id",
        "*Requests/min*\n120",
        "*5xx rate*\n25.3%",
        "*p95 latency*\n850 ms",
      ]),
    );
    const texts = body.blocks.map((b) => b.text?.text ?? "").join("\n");
    expect(texts).toContain("*What happened*\n5xx rate 25% (usually 0.1%)");
    expect(texts).toContain("*AI summary* (@cf/test/model)");
    expect(texts).toContain("*Likely causes*\n• ");
    expect(texts).toContain("• roll back the deploy");
    const button = body.blocks.find((b) => b.type === "actions")?.elements?.[0];
    expect(button?.url).toBe("https://dash.example/#/incidents/inc_slack_shape");
    // Without a dashboard URL there is no button; a test message is one section.
    expect(
      slackMessage(message(incident, "incident.opened", null)).blocks.some(
        (b) => (b as { type: string }).type === "actions",
      ),
    ).toBe(false);
    expect(slackMessage(testMessage(), "ops").text).toContain('channel "ops"');
  });

  it("PagerDuty: trigger on open, resolve on resolution, the incident id as dedup key", async () => {
    const incident = await leakyIncident("inc_pd_flow");
    const pd = stored({ type: "pagerduty", url: hookUrl("pd-flow"), secret: PD_KEY });
    expect((await deliver(pd, message(incident, "incident.opened"))).ok).toBe(true);
    expect((await deliver(pd, message({ ...incident, status: "resolved" }, "incident.resolved"))).ok).toBe(true);
    const [open, resolve] = (await received("pd-flow")).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(open).toMatchObject({
      routing_key: PD_KEY,
      event_action: "trigger",
      dedup_key: "inc_pd_flow",
      payload: {
        source: "shop GET /orders/:id",
        severity: "critical",
        summary: "[CRITICAL] shop GET /orders/:id: incident opened",
        custom_details: { status: "open" },
      },
      links: [{ href: "https://dash.example/#/incidents/inc_pd_flow" }],
    });
    expect(resolve).toMatchObject({ routing_key: PD_KEY, event_action: "resolve", dedup_key: "inc_pd_flow" });
  });

  it("privacy: no API key, bearer token, cookie or card number leaves in a webhook, Slack or PagerDuty body", async () => {
    const incident = await leakyIncident("inc_privacy");
    // The stored incident does carry them (the test would prove nothing otherwise).
    const raw = JSON.stringify(incident);
    for (const s of ["Bearer abc.def", "sk_live_123", "Cookie: session=xyz", "4111 1111 1111 1111", "4111111111111111"])
      expect(raw).toContain(s);
    const secret = generateWebhookSecret();
    const channels = [
      stored({ type: "webhook", url: hookUrl("privacy-webhook"), secret }),
      stored({ type: "slack", url: hookUrl("privacy-slack") }),
      stored({ type: "pagerduty", url: hookUrl("privacy-pd"), secret: PD_KEY }),
    ];
    for (const ch of channels) {
      for (const event of ["incident.opened", "incident.updated"] as const)
        expect((await deliver(ch, message(incident, event))).ok).toBe(true);
    }
    for (const name of ["privacy-webhook", "privacy-slack", "privacy-pd"]) {
      const bodies = (await received(name)).map((r) => r.body);
      expect(bodies).toHaveLength(2);
      for (const body of bodies) {
        for (const s of SECRETS) expect(body, `${name} leaks ${s}`).not.toContain(s);
        expect(body).toContain("[redacted]");
      }
    }
    // What is not secret stays readable.
    const [webhook] = await received("privacy-webhook");
    const data = (
      JSON.parse(webhook?.body ?? "{}") as { data: { explanation: string; figures: { requests_per_minute: number } } }
    ).data;
    expect(data.explanation).toContain("5xx rate 25% (usually 0.1%)");
    expect(data.explanation).toContain("next line kept");
    expect(data.figures.requests_per_minute).toBe(120);
    expect(webhook && (await verifyStandardWebhook(secret, webhook.headers, webhook.body))).toBe(true);
  });
});
