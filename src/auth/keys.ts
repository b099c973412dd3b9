/**
 * Bearer-key auth that fails closed: with no key configured the protected API answers 503
 * naming the secret to set; a missing or wrong key is a 401. Keys are compared in constant
 * time (both sides hashed to a fixed length first, then `timingSafeEqual`).
 */
import { createMiddleware } from "hono/factory";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";

export type KeyScope = "ingest" | "read" | "admin";

const encoder = new TextEncoder();

async function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(value));
}

/**
 * Digests of the configured keys, computed once per isolate (keys change only with a deploy).
 * The resolved buffers are cached, never the promises: a request must not wait on a promise
 * that belongs to another request's context.
 */
const keyDigests = new Map<string, ArrayBuffer>();

async function configuredKeyDigest(key: string): Promise<ArrayBuffer> {
  const cached = keyDigests.get(key);
  if (cached) return cached;
  const computed = await digest(key);
  if (keyDigests.size > 64) keyDigests.clear();
  keyDigests.set(key, computed);
  return computed;
}

/** Constant-time check of `presented` against every key in `accepted` (no early exit). */
export async function matchesAnyKey(presented: string, accepted: readonly string[]): Promise<boolean> {
  const presentedHash = await digest(presented);
  let match = false;
  for (const key of accepted) {
    const keyHash = await configuredKeyDigest(key);
    // Evaluate every key so the timing does not reveal which one matched.
    match = crypto.subtle.timingSafeEqual(presentedHash, keyHash) || match;
  }
  return match;
}

function splitKeys(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
}

/** The keys accepted for a scope, and the secret an operator must set when there are none. */
export function keysFor(env: Env, scope: KeyScope): { keys: string[]; secret: string } {
  const admin = splitKeys(env.ADMIN_KEY);
  switch (scope) {
    case "ingest":
      return { keys: splitKeys(env.INGEST_KEYS), secret: "INGEST_KEYS" };
    case "read":
      return { keys: [...splitKeys(env.READ_KEY), ...admin], secret: "READ_KEY" };
    case "admin":
      return { keys: admin, secret: "ADMIN_KEY" };
  }
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Whether the Authorization header carries a key of any scope. The body limit asks this before it
 * reads a chunked body, so that nobody without a key can make the worker buffer one.
 */
export async function presentsAnyKey(env: Env, header: string | undefined): Promise<boolean> {
  const token = bearerToken(header);
  if (token === undefined) return false;
  const all = [...new Set((["ingest", "read", "admin"] as const).flatMap((scope) => keysFor(env, scope).keys))];
  return all.length > 0 && matchesAnyKey(token, all);
}

/** Throws the 503 or 401 ApiError unless the request carries a key of `scope`. */
export async function checkKey(env: Env, authorization: string | undefined, scope: KeyScope): Promise<void> {
  const { keys, secret } = keysFor(env, scope);
  if (keys.length === 0) {
    throw new ApiError(503, "auth_not_configured", `no ${scope} key is configured: set the ${secret} secret`, {
      secret,
    });
  }
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new ApiError(401, "unauthorized", `missing bearer token: send Authorization: Bearer <${scope} key>`);
  }
  if (!(await matchesAnyKey(token, keys))) {
    throw new ApiError(401, "unauthorized", `invalid ${scope} key`);
  }
}

/** Middleware requiring a bearer key of `scope`. */
export function requireKey(scope: KeyScope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await checkKey(c.env, c.req.header("Authorization"), scope);
    await next();
  });
}
