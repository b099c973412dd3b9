/**
 * `POST /v1/logs`: validate at the edge, answer at once, hand the records to the endpoint
 * Durable Objects in `waitUntil` (or before answering with `?sync=1`).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requireKey } from "../auth/keys";
import { switches } from "../control/switches";
import { ApiError, errorBody } from "../http/errors";
import type { AppEnv } from "../http/types";
import { MAX_BODY_BYTES, parseLogBody } from "./body";
import { ingestCounters } from "./counters";
import { coalesceHandOff } from "./coalescer";
import { handOff } from "./handoff";
import { redactEmailsSetting } from "./privacy-settings";
import { normaliseRecord, type LogRecord } from "./record";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Raw-log retention in ms (`RAW_RETENTION_DAYS`, default 7). */
export function retentionMs(env: Env): number {
  const days = Number(env.RAW_RETENTION_DAYS);
  return (Number.isFinite(days) && days > 0 ? days : 7) * DAY_MS;
}

export const ingestApp = new Hono<AppEnv>().post(
  "/",
  requireKey("ingest"),
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `the body exceeds ${MAX_BODY_BYTES} bytes`, {
        max_bytes: MAX_BODY_BYTES,
      });
    },
  }),
  async (c) => {
    // Paused by the operator: refuse (503 + Retry-After) so that clients keep and resend their records.
    if (!(await switches(c.env.DB)).ingestion) {
      return c.json(errorBody("ingestion_paused", "ingestion is paused by the operator: resend later", { retry_after_seconds: 60 }), 503, { "Retry-After": "60" });
    }
    const text = new TextDecoder().decode(await c.req.arrayBuffer());
    const items = parseLogBody(text, c.req.header("Content-Type"));
    const now = Date.now();
    const ctx = { now, retentionMs: retentionMs(c.env), newKey: () => crypto.randomUUID(), redactEmails: redactEmailsSetting(c.env) };
    const accepted: LogRecord[] = [];
    const acceptedIndexes: number[] = [];
    const rejected: { index: number; errors: string[] }[] = [];
    items.forEach((item, index) => {
      if ("parseError" in item) {
        rejected.push({ index, errors: [item.parseError] });
        return;
      }
      const result = normaliseRecord(item.value, ctx);
      if (result.ok) {
        accepted.push(result.record);
        acceptedIndexes.push(index);
      }
      else rejected.push({ index, errors: result.errors });
    });
    ingestCounters.requests++;
    ingestCounters.accepted += accepted.length;
    ingestCounters.rejected += rejected.length;

    const sync = c.req.query("sync");
    if (sync === "1" || sync === "true") {
      const result = await handOff(c.env, accepted);
      if (result.failed > 0) {
        // Records without an `id` get a new key when sent again: name the failed ones so that a
        // client resends only those (records with an `id` can simply be resent, they are stored once).
        const failed = new Set(result.failedKeys);
        const failedIndexes = accepted.flatMap((r, i) => (failed.has(r.key) ? [acceptedIndexes[i]] : []));
        throw new ApiError(503, "storage_unavailable", "some records could not be stored: resend the failed ones", {
          stored: result.stored + result.duplicates + result.fallback,
          failed: result.failed,
          failed_indexes: failedIndexes,
        });
      }
      return c.json(
        {
          accepted: accepted.length,
          rejected,
          stored: result.stored,
          duplicates: result.duplicates,
          stored_directly_in_d1: result.fallback,
        },
        202,
      );
    }
    const send = coalesceHandOff(c.env, accepted);
    if (send) c.executionCtx.waitUntil(send);
    return c.json({ accepted: accepted.length, rejected }, 202);
  },
);
