/**
 * `POST /v1/logs`: validate at the edge, answer at once, hand the records to the endpoint
 * Durable Objects in `waitUntil` (or before answering with `?sync=1`).
 */
import { Hono } from "hono";
import { switches } from "../control/switches";
import { ApiError, errorBody } from "../http/errors";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { serviceDirectory } from "../services/store";
import { parseLogBody } from "./body";
import { ingestCounters } from "./counters";
import { refusedServiceNames, serviceCapError } from "./caps";
import { coalesceHandOff } from "./coalescer";
import { handOff } from "./handoff";
import { inFlightRecords, mustHandOffNow } from "./in-flight";
import { redactEmailsSetting } from "./privacy-settings";
import { normaliseRecord, type LogRecord } from "./record";
import { retentionMs } from "../config";
import { ingestAnswerSchema, ingestBody, ingestQuery } from "./schemas";

/** The 400 for a batch in which every record was rejected, with the same `rejected` list a 202 carries. */
export function allRejected(rejected: unknown[]): ApiError {
  return new ApiError(400, "invalid_records", `every record was rejected (${rejected.length}): nothing was stored`, {
    accepted: 0,
    rejected,
  });
}

/**
 * Moves the accepted records of services MAX_SERVICES refuses to `rejected` (in place), each
 * with a per-record error; configured services always pass.
 */
async function refuseServicesPastCap(
  env: Env,
  accepted: LogRecord[],
  acceptedIndexes: number[],
  rejected: { index: number; errors: string[] }[],
  waitUntil: (p: Promise<unknown>) => void,
): Promise<void> {
  if (accepted.length === 0) return;
  const configured = [...(await serviceDirectory(env, waitUntil)).byName.keys()];
  const refused = await refusedServiceNames(
    env,
    accepted.map((r) => r.service),
    configured,
  );
  if (refused.size === 0) return;
  const error = serviceCapError(env);
  let kept = 0;
  accepted.forEach((r, i) => {
    const index = acceptedIndexes[i] ?? i;
    if (refused.has(r.service)) {
      rejected.push({ index, errors: [error] });
    } else {
      accepted[kept] = r;
      acceptedIndexes[kept] = index;
      kept++;
    }
  });
  accepted.length = kept;
  acceptedIndexes.length = kept;
  rejected.sort((a, b) => a.index - b.index);
}

export const ingestApp = new Hono<AppEnv>();

defineRoute(
  ingestApp,
  {
    method: "POST",
    path: "/",
    key: "ingest",
    tag: "Logs",
    summary: "Ingest request logs: one record, an array or NDJSON (≤ 1 MiB, ≤ 1,000 records)",
    description:
      "Answers once the body is validated; `?sync=1` waits until the endpoint objects committed the records.",
    request: {
      query: ingestQuery,
      // Read here record by record (JSON or NDJSON): a bad record is listed, not a 400 for the batch.
      body: { schema: ingestBody, contentTypes: ["application/json", "application/x-ndjson"], validate: false },
    },
    responses: {
      202: {
        description: "accepted (records failing validation are listed, the others kept)",
        schema: ingestAnswerSchema,
      },
      400: {
        description:
          "not JSON or NDJSON (`invalid_body`), or every record rejected (`invalid_records`, with `details.rejected` as in a 202)",
      },
      413: { description: "body over 1 MiB (`payload_too_large`) or more than 1,000 records (`too_many_records`)" },
      503: { description: "ingestion paused by the operator (`Retry-After`), or storage unavailable with `?sync=1`" },
    },
  },
  async (c) => {
    // Paused by the operator: refuse (503 + Retry-After) so that clients keep and resend their records.
    if (!(await switches(c.env.DB)).ingestion) {
      return c.json(
        errorBody("ingestion_paused", "ingestion is paused by the operator: resend later", { retry_after_seconds: 60 }),
        503,
        { "Retry-After": "60" },
      );
    }
    const text = new TextDecoder().decode(await c.req.arrayBuffer());
    const items = parseLogBody(text, c.req.header("Content-Type"));
    const now = Date.now();
    const ctx = {
      now,
      retentionMs: retentionMs(c.env),
      newKey: () => crypto.randomUUID(),
      redactEmails: redactEmailsSetting(c.env),
    };
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
      } else rejected.push({ index, errors: result.errors });
    });
    await refuseServicesPastCap(c.env, accepted, acceptedIndexes, rejected, (p) => c.executionCtx.waitUntil(p));
    ingestCounters.requests++;
    ingestCounters.accepted += accepted.length;
    ingestCounters.rejected += rejected.length;
    // Nothing to store: a client error, not an acceptance (a 202 would hide that every record was refused).
    if (accepted.length === 0) throw allRejected(rejected);

    const sync = c.req.query("sync");
    // Backpressure: past the bound on records in background hand-offs, this request hands off
    // before answering, so a fast client waits for the objects instead of filling memory.
    const backpressure = sync !== "1" && sync !== "true" && mustHandOffNow(c.env, accepted.length);
    if (backpressure) {
      ingestCounters.backpressured_requests++;
      ingestCounters.backpressured_max_in_flight = Math.max(
        ingestCounters.backpressured_max_in_flight,
        inFlightRecords(),
      );
    }
    if (backpressure || sync === "1" || sync === "true") {
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
