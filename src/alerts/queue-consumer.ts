/**
 * Alert delivery outside the endpoint objects' alarms. An object's alarm fans its new alert events
 * out to messages (rows of its outbox, written in the incident's transaction) and hands the
 * endpoint to the `ALERTS_QUEUE` queue; this consumer (the Worker's `queue()` handler) waits for
 * the AI summaries of new incidents (up to AI_ALERT_WAIT_MS), claims the object's due messages
 * over RPC, sends them and reports the outcomes back, and the object records attempts and
 * backoff as before. Queues deliver at least once: a redelivered hand-off claims again, and
 * messages already sent are no longer due (a claim leases its rows, a report for an attempt
 * already recorded changes nothing), so each message is sent once.
 */
import * as z from "zod";
import { summarizeIncident } from "../ai/summarize";
import { dashboardUrl } from "../config";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { endpointObject } from "../monitor/endpoint-object";
import { loadEnabledChannels, type StoredChannel } from "./channels";
import { AI_ALERT_WAIT_MS } from "./outbox-events";
import { loadApiIncident, sendMessage, type OutboxMessage, type SendOutcome, type SendSource } from "./outbox-send";

/**
 * What an endpoint object's alarm puts on the queue: its name, the incidents whose first alert
 * waits for AI, and the messages it leased to this hand-off until `lease_until` (see AlertOutbox.prepare).
 */
export interface AlertHandOff {
  endpoint: string;
  summarize: string[];
  messages: string[];
  lease_until: number;
}

const handOffSchema = z.object({
  endpoint: z.string().min(1),
  summarize: z.array(z.string()).default([]),
  messages: z.array(z.string()).default([]),
  lease_until: z.number().default(0),
});

/** Time one hand-off may spend sending; what is left is released when the lease ends (CLAIM_LEASE_MS). */
const SEND_BUDGET_MS = 15_000;

/** One claimed message's outcome, as the consumer reports it to the object. */
export interface AlertReport {
  message: OutboxMessage;
  outcome: SendOutcome;
  at: number;
}

/** The queue's consumer: delivers each hand-off, retrying the hand-off (not a send) when the object cannot be reached. */
export async function consumeAlerts(batch: MessageBatch, env: Env): Promise<void> {
  // Hand-offs of different endpoints go out side by side: one slow receiver or AI wait holds only its own.
  await Promise.all(
    batch.messages.map(async (msg) => {
      const parsed = handOffSchema.safeParse(msg.body);
      if (!parsed.success) {
        log("error", "alert_handoff_invalid", { queue: batch.queue, id: msg.id });
        msg.ack();
        return;
      }
      try {
        // A redelivery does not ask the model again: the first try waited already.
        await deliverHandOff(env, parsed.data, msg.attempts <= 1);
        msg.ack();
      } catch (err) {
        log("error", "alert_handoff_failed", { endpoint: parsed.data.endpoint, message: errorMessage(err) });
        msg.retry();
      }
    }),
  );
}

/** Waits for the hand-off's AI summaries, then claims, sends and reports the endpoint's due messages. */
export async function deliverHandOff(env: Env, h: AlertHandOff, summarize = true): Promise<number> {
  // The AI summary gets a short wait so the first alert can carry it; if it is not ready,
  // the alert goes without it and the summary follows as an update when it comes.
  if (summarize)
    await Promise.all(
      h.summarize.map((id) => summarizeIncident(env, id, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined)),
    );
  if (h.messages.length === 0) return 0;
  const stub = endpointObject(env, h.endpoint);
  const claimed = await stub.claimAlerts(h.messages, h.lease_until);
  if (claimed.length === 0) return 0;
  let channels: StoredChannel[] | null = null;
  const source: SendSource = {
    channels: async () => (channels ??= await loadEnabledChannels(env.DB)),
    loadIncident: (id) => loadApiIncident(env.DB, id),
    dashboardUrl: dashboardUrl(env),
  };
  const reports: AlertReport[] = [];
  const started = Date.now();
  try {
    for (const message of claimed) {
      // A slow receiver must not hold the rest for long: what is left goes again when its lease ends.
      if (Date.now() - started > SEND_BUDGET_MS) break;
      const at = Date.now();
      // A send that throws (D1 unreadable) is not ready: tried again shortly, the others still go.
      const outcome = await sendMessage(source, message, at).catch((err: unknown): SendOutcome => {
        log("warn", "alert_send_failed", { endpoint: h.endpoint, message: errorMessage(err) });
        return { kind: "not_ready" };
      });
      reports.push({ message, outcome, at });
    }
  } finally {
    // What was sent is recorded whatever happened after it (a lost report would send it again).
    await stub.reportAlerts(reports);
  }
  return reports.length;
}
