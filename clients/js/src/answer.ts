/**
 * What a sender makes of the monitor's answer to `POST /v1/logs`, shared by the core (Node) and
 * the Hono middleware (Workers): a `202` lists the records it refused in `rejected`, and a batch
 * refused whole is a `400 invalid_records` with the same list in `error.details`. Both mean the
 * batch arrived and must not be sent again; the reasons are worth one log line, scrubbed. Pure.
 */
import { scrubText } from "../../../src/redact/index.js";

/** The monitor takes at most 1 MiB per POST (src/ingest/body.ts): larger batches go in halves. */
export const MAX_BODY_BYTES = 1_000_000;

/** Reasons kept for the log line, and characters of each. */
const MAX_REASONS = 3;
const REASON_CHARS = 300;

/** An answer that holds the monitor's verdict on each record. */
export interface Verdict {
  /** Records the monitor refused (invalid): never worth sending again. */
  rejected: number;
  /** The first few reasons it gave, scrubbed. */
  reasons: string[];
}

/** A number option held between `min` and `max` (whole), or `fallback` when absent or not finite. */
export function clamp(value: number | undefined, min: number, max: number, fallback: number): number {
  return value === undefined || !Number.isFinite(value) ? fallback : Math.min(max, Math.max(min, Math.floor(value)));
}

function reasonsOf(list: unknown[]): string[] {
  const reasons: string[] = [];
  for (const item of list.slice(0, MAX_REASONS)) {
    const errors = (item as { errors?: unknown } | null)?.errors;
    const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
    if (typeof first === "string") reasons.push(scrubText(first.slice(0, REASON_CHARS)));
  }
  return reasons;
}

/**
 * The verdict in an answer: the `rejected` list of a 2xx, or of a `400 invalid_records`; null when
 * the answer holds none (a 2xx without the usual JSON was taken whole; anything else failed).
 */
export function readVerdict(status: number, text: string): Verdict | null {
  let list: unknown;
  try {
    const body = JSON.parse(text) as {
      rejected?: unknown;
      error?: { code?: unknown; details?: { rejected?: unknown } };
    };
    if (status >= 200 && status < 300) list = body.rejected;
    else if (status === 400 && body.error?.code === "invalid_records") list = body.error.details?.rejected;
  } catch {
    return null;
  }
  return Array.isArray(list) ? { rejected: list.length, reasons: reasonsOf(list) } : null;
}

/** An error's text: its message, or the thrown value itself when it is not an Error. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Logs a monitor warning as one JSON line, the error scrubbed. */
export function logWarning(event: string, service: string, fields: Record<string, unknown>, err?: unknown): void {
  const line: Record<string, unknown> = { level: "warn", event, service, ...fields };
  if (err !== undefined) line.error = scrubText(errorText(err).slice(0, 300));
  console.log(JSON.stringify(line));
}
