/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`
 * (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">`, keyed
 * with the bytes of the `whsec_<base64>` secret. Web Crypto only, so it runs in Workers as is;
 * verification uses `crypto.subtle.verify`, which compares in constant time.
 */

const encoder = new TextEncoder();
const SECRET_PREFIX = "whsec_";
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

function base64ToBytes(b64: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

function bytesToBase64(bytes: ArrayBuffer): string {
  let bin = "";
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The key bytes of a `whsec_<base64 of 24..64 bytes>` secret, or null when it is not one. */
export function webhookSecretBytes(secret: string): Uint8Array | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const bytes = base64ToBytes(secret.slice(SECRET_PREFIX.length));
  if (!bytes || bytes.length < SECRET_MIN_BYTES || bytes.length > SECRET_MAX_BYTES) return null;
  return bytes;
}

/** A fresh random `whsec_` secret of 32 bytes (for users and tests). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(32)).buffer);
}

async function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  const bytes = webhookSecretBytes(secret);
  if (!bytes) throw new Error("invalid webhook secret: expected whsec_ and the base64 of 24 to 64 bytes");
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** The `webhook-signature` value (`v1,<base64>`) of one message. */
export async function signStandardWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const key = await hmacKey(secret, "sign");
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${bytesToBase64(mac)}`;
}

/** The three Standard Webhooks headers of one attempt (the timestamp is the attempt's, the id the message's). */
export async function standardWebhookHeaders(
  secret: string,
  id: string,
  body: string,
  nowMs = Date.now(),
): Promise<{ "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string }> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signStandardWebhook(secret, id, timestamp, body),
  };
}

type HeaderSource = Headers | Record<string, string | undefined>;

function header(headers: HeaderSource, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  return found?.[1] ?? null;
}

/**
 * Verifies a Standard Webhooks message: the id, a timestamp within `toleranceSeconds` of now
 * (either way, against replays) and at least one `v1,` signature of the space-separated list
 * (secret rotation) matching. False on anything missing or malformed, never a throw.
 */
export async function verifyStandardWebhook(
  secret: string,
  headers: HeaderSource,
  body: string,
  toleranceSeconds = 300,
  nowMs = Date.now(),
): Promise<boolean> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures || !/^\d{1,15}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  if (!webhookSecretBytes(secret)) return false;
  const key = await hmacKey(secret, "verify");
  const data = encoder.encode(`${id}.${timestamp}.${body}`);
  let valid = false;
  for (const entry of signatures.split(" ")) {
    const [version, sig] = entry.split(",", 2);
    if (version !== "v1" || !sig) continue;
    const bytes = base64ToBytes(sig);
    // Check every entry, so the time taken does not tell which one matched.
    if (bytes && bytes.length === 32) valid = (await crypto.subtle.verify("HMAC", key, bytes, data)) || valid;
  }
  return valid;
}
