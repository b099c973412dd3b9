/**
 * When the hand-off tries a Durable Object again. Cloudflare marks the errors worth retrying
 * (`retryable: true`: the object was reset, the connection was lost) and those never worth it
 * (`overloaded: true`: a retry only adds load to an object that is already refusing work). Only
 * the first are retried; an overloaded object is left alone for a while (its records go to D1
 * directly), and anything else (a bug, an unknown error) goes to the D1 fallback at once. A
 * timeout is retried once at most, so that every try, backoff and the fallback fit in waitUntil.
 * Pure.
 */
import { TimeoutError } from "../lib/timeout";

/** Tries of one hand-off RPC, the first included. */
export const HANDOFF_ATTEMPTS = 4;
/** Timeouts after which the hand-off is not tried again (each costs a whole attempt timeout). */
export const MAX_TIMEOUTS = 2;
/** How long this isolate sends an overloaded endpoint's records to D1 instead of to it. */
export const OVERLOADED_BACKOFF_MS = 2000;

export type RetryDecision = "retry" | "overloaded" | "give_up";

function flag(err: unknown, name: "retryable" | "overloaded"): boolean {
  return typeof err === "object" && err !== null && (err as Record<string, unknown>)[name] === true;
}

/** What to do after try `attempt` (1-based) failed with `err`, `timeouts` of the tries so far having timed out. */
export function retryDecision(err: unknown, attempt: number, timeouts: number): RetryDecision {
  if (flag(err, "overloaded")) return "overloaded";
  if (attempt >= HANDOFF_ATTEMPTS) return "give_up";
  if (err instanceof TimeoutError) return timeouts < MAX_TIMEOUTS ? "retry" : "give_up";
  return flag(err, "retryable") ? "retry" : "give_up";
}
