import { describe, expect, it } from "vitest";
import {
  SECRET_MAX_BYTES,
  SECRET_MIN_BYTES,
  generateWebhookSecret,
  signStandardWebhook,
  standardWebhookHeaders,
  verifyStandardWebhook,
  webhookSecretBytes,
} from "../../src/alerts/sign";

// The reference vector of the Standard Webhooks libraries (standard-webhooks/standard-webhooks,
// libraries/javascript/src/webhook.test.ts, "sign function works").
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const AT = VECTOR.timestamp * 1000;

function secretOf(bytes: number): string {
  return `whsec_${btoa(String.fromCharCode(...new Uint8Array(bytes).fill(7)))}`;
}

function vectorHeaders(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    "webhook-id": VECTOR.id,
    "webhook-timestamp": String(VECTOR.timestamp),
    "webhook-signature": VECTOR.signature,
    ...overrides,
  };
}

describe("Standard Webhooks signing", () => {
  it("matches the reference test vector", async () => {
    expect(await signStandardWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(await standardWebhookHeaders(VECTOR.secret, VECTOR.id, VECTOR.body, AT + 999)).toEqual(vectorHeaders());
  });

  it("verifies the reference vector at its time, and not five minutes and a second later", async () => {
    expect(await verifyStandardWebhook(VECTOR.secret, vectorHeaders(), VECTOR.body, 300, AT)).toBe(true);
    expect(await verifyStandardWebhook(VECTOR.secret, vectorHeaders(), VECTOR.body, 300, AT + 300_000)).toBe(true);
    expect(await verifyStandardWebhook(VECTOR.secret, vectorHeaders(), VECTOR.body, 300, AT + 301_000)).toBe(false);
    expect(await verifyStandardWebhook(VECTOR.secret, vectorHeaders(), VECTOR.body, 300, AT - 301_000)).toBe(false);
    // With the real clock the vector (2021) is far too old.
    expect(await verifyStandardWebhook(VECTOR.secret, vectorHeaders(), VECTOR.body)).toBe(false);
  });

  it("rejects a tampered body, id, timestamp or signature, and a wrong secret", async () => {
    const ok = (headers: Record<string, string>, body = VECTOR.body, secret = VECTOR.secret) =>
      verifyStandardWebhook(secret, headers, body, 300, AT);
    expect(await ok(vectorHeaders(), '{"test": 2432232315}')).toBe(false);
    expect(await ok(vectorHeaders(), `${VECTOR.body} `)).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-id": "msg_other" }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-timestamp": String(VECTOR.timestamp + 1) }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=" }))).toBe(
      false,
    );
    expect(await ok(vectorHeaders(), VECTOR.body, generateWebhookSecret())).toBe(false);
  });

  it("rejects missing or malformed headers without throwing", async () => {
    const ok = (headers: Record<string, string>) => verifyStandardWebhook(VECTOR.secret, headers, VECTOR.body, 300, AT);
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers = vectorHeaders();
      delete headers[name];
      expect(await ok(headers), name).toBe(false);
    }
    expect(await ok(vectorHeaders({ "webhook-timestamp": "hello" }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-signature": "v1,dawfeoifkpqwoekfpqoekf" }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-signature": "v1," }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-signature": VECTOR.signature.slice(0, 8) }))).toBe(false);
    expect(await ok(vectorHeaders({ "webhook-signature": VECTOR.signature.replace("v1,", "v2,") }))).toBe(false);
    expect(await verifyStandardWebhook("not-a-secret", vectorHeaders(), VECTOR.body, 300, AT)).toBe(false);
  });

  it("accepts a space-separated list with one valid v1 signature (secret rotation), and a Headers object", async () => {
    const list = [
      "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
      "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
      VECTOR.signature,
    ].join(" ");
    expect(
      await verifyStandardWebhook(VECTOR.secret, vectorHeaders({ "webhook-signature": list }), VECTOR.body, 300, AT),
    ).toBe(true);
    const headers = new Headers({
      "Webhook-Id": VECTOR.id,
      "Webhook-Timestamp": String(VECTOR.timestamp),
      "Webhook-Signature": VECTOR.signature,
    });
    expect(await verifyStandardWebhook(VECTOR.secret, headers, VECTOR.body, 300, AT)).toBe(true);
  });

  it("round-trips with a generated secret and the current time", async () => {
    const secret = generateWebhookSecret();
    expect(webhookSecretBytes(secret)?.length).toBe(32);
    const body = JSON.stringify({ type: "test", data: { emoji: "✓" } });
    const headers = await standardWebhookHeaders(secret, "msg_1", body);
    expect(await verifyStandardWebhook(secret, headers, body)).toBe(true);
  });
});

describe("webhookSecretBytes", () => {
  it("accepts whsec_ with the base64 of 24 to 64 bytes", () => {
    expect(webhookSecretBytes(VECTOR.secret)?.length).toBe(24);
    expect(webhookSecretBytes(secretOf(SECRET_MIN_BYTES))?.length).toBe(SECRET_MIN_BYTES);
    expect(webhookSecretBytes(secretOf(SECRET_MAX_BYTES))?.length).toBe(SECRET_MAX_BYTES);
  });

  it.each([
    ["no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    ["too short", secretOf(SECRET_MIN_BYTES - 1)],
    ["too long", secretOf(SECRET_MAX_BYTES + 1)],
    ["not base64", "whsec_not base64 at all!!!!!!!!!!!!!!!"],
    ["bad padding", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"],
    ["empty", "whsec_"],
  ])("refuses %s", (_label, secret) => {
    expect(webhookSecretBytes(secret)).toBeNull();
  });
});
