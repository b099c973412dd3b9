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
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { endpointObject } from "../monitor/endpoint-object";
import { loadEnabledChannels, type StoredChannel } from "./channels";
import { AI_ALERT_WAIT_MS } from "./outbox-events";
import { loadApiIncident, sendMessage, type OutboxMessage, type SendOutcome, type SendSource } from "./outbox-send";

/** What an endpoint object's alarm puts on the queue: its name, and the incidents whose first alert waits for AI. */
export interface AlertHandOff {
  endpoint: string;
  summarize: string[];
}

const handOffSchema = z.object({ endpoint: z.string().min(1), summarize: z.array(z.string()).default([]) });

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
  for (const msg of batch.messages) {
    const parsed = handOffSchema.safeParse(msg.body);
    if (!parsed.success) {
      log("error", "alert_handoff_invalid", { queue: batch.queue, id: msg.id });
      msg.ack();
      continue;
    }
    try {
      // A redelivery does not ask the model again: the first try waited already.
      await deliverHandOff(env, parsed.data, msg.attempts <= 1);
      msg.ack();
    } catch (err) {
      log("error", "alert_handoff_failed", { endpoint: parsed.data.endpoint, message: errorMessage(err) });
      msg.retry();
    }
  }
}

/** Waits for the hand-off's AI summaries, then claims, sends and reports the endpoint's due messages. */
export async function deliverHandOff(env: Env, h: AlertHandOff, summarize = true): Promise<number> {
  // The AI summary gets a short wait so the first alert can carry it; if it is not ready,
  // the alert goes without it and the summary follows as an update when it comes.
  if (summarize)
    await Promise.all(
      h.summarize.map((id) => summarizeIncident(env, id, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined)),
    );
  const stub = endpointObject(env, h.endpoint);
  const claimed = await stub.claimAlerts();
  if (claimed.length === 0) return 0;
  let channels: StoredChannel[] | null = null;
  const source: SendSource = {
    channels: async () => (channels ??= await loadEnabledChannels(env.DB)),
    loadIncident: (id) => loadApiIncident(env.DB, id),
    dashboardUrl: env.DASHBOARD_URL ? env.DASHBOARD_URL : null,
  };
  const reports: AlertReport[] = [];
  const started = Date.now();
  for (const message of claimed) {
    // A slow receiver must not hold the rest for long: what is left goes again when its lease ends.
    if (Date.now() - started > SEND_BUDGET_MS) break;
    const at = Date.now();
    reports.push({ message, outcome: await sendMessage(source, message, at), at });
  }
  await stub.reportAlerts(reports);
  return reports.length;
}
