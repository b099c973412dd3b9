/**
 * Alert delivery outside the Durable Objects' alarms. An endpoint object's (or an IncidentGroups
 * object's, src/incidents/group-object.ts) alarm fans its new alert events out to messages (rows
 * of its outbox, written in the incident's transaction) and leases the due ones to one hand-off on
 * the `ALERTS_QUEUE` queue; this consumer (the Worker's `queue()` handler) waits for the AI
 * summaries of new incidents (up to AI_ALERT_WAIT_MS; group alerts wait for none), claims exactly
 * the hand-off's messages over RPC, sends them and reports the outcomes back, and the object
 * records attempts and backoff as before. Queues deliver at least once: a redelivered hand-off
 * finds its messages claimed or reported and claims nothing, and a report for an attempt already
 * recorded changes nothing, so each message is sent once.
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
import { DELIVERY_TIMEOUT_MS } from "./send";
import type { ApiIncident } from "./payloads";

/**
 * What an endpoint object's alarm puts on the queue: its name, the incidents whose first alert
 * waits for AI, and the messages it leased to this hand-off until `lease_until` (see AlertOutbox.prepare).
 */
export interface EndpointHandOff {
  kind?: "endpoint";
  endpoint: string;
  summarize: string[];
  messages: string[];
  lease_until: number;
}

/** What an IncidentGroups object's alarm puts on the queue: its key and the messages leased to the hand-off (no AI wait). */
export interface GroupHandOff {
  kind: "group";
  key: string;
  messages: string[];
  lease_until: number;
}

/** A message of the alerts queue (one without `kind`, as the endpoint objects send, is an endpoint's). */
export type AlertHandOff = EndpointHandOff | GroupHandOff;

const leased = { messages: z.array(z.string()).default([]), lease_until: z.number().default(0) };
const handOffSchema = z.union([
  z.object({ kind: z.literal("group"), key: z.string().min(1), ...leased }),
  z.object({
    kind: z.literal("endpoint").optional(),
    endpoint: z.string().min(1),
    summarize: z.array(z.string()).default([]),
    ...leased,
  }),
]);

/**
 * What an IncidentGroups object's claim returns: the messages, and the group incident each carries
 * by its id, as JSON text (the incident's free-form fields are `unknown`, which RPC's types refuse).
 */
export interface ClaimedGroupAlerts {
  messages: OutboxMessage[];
  incidents: Record<string, string>;
}

/** The object a hand-off names, for the log (`endpoint`, as before, or `group`). */
const objectOf = (h: AlertHandOff): Record<string, string> =>
  h.kind === "group" ? { group: h.key } : { endpoint: h.endpoint };

/** Time one hand-off may spend sending; what is left is released when the lease ends (CLAIM_LEASE_MS). */
const SEND_BUDGET_MS = 15_000;
/** What a send may still take when the loop stops, on top of DELIVERY_TIMEOUT_MS, before the lease ends. */
const LEASE_MARGIN_MS = 5_000;
/** Tries of a report after the first. */
const REPORT_RETRIES = 3;

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
        log("error", "alert_handoff_failed", { ...objectOf(parsed.data), message: errorMessage(err) });
        msg.retry();
      }
    }),
  );
}

/** Waits for the hand-off's AI summaries, then claims, sends and reports the object's leased messages. */
export async function deliverHandOff(env: Env, h: AlertHandOff, summarize = true): Promise<number> {
  if (h.kind === "group") return deliverGroupHandOff(env, h);
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
  const reports: AlertReport[] = [];
  try {
    await sendClaimed(env, objectOf(h), claimed, (id) => loadApiIncident(env.DB, id), reports, h.lease_until);
  } finally {
    // What was sent is recorded whatever happened after it (a lost report would send it again).
    await reportWithRetries(() => stub.reportAlerts(reports));
  }
  return reports.length;
}

/** Claims, sends and reports a group object's leased messages (group alerts wait for no AI summary). */
async function deliverGroupHandOff(env: Env, h: GroupHandOff): Promise<number> {
  if (h.messages.length === 0) return 0;
  const groups = env.INCIDENT_GROUPS.getByName(h.key);
  const claimed = await groups.claimAlerts(h.messages, h.lease_until);
  if (claimed.messages.length === 0) return 0;
  // The group object loaded what its alerts carry when it claimed them (its groups are its own).
  const loadIncident = async (id: string): Promise<ApiIncident | null> => {
    const text = claimed.incidents[id];
    return text === undefined ? null : (JSON.parse(text) as ApiIncident);
  };
  const reports: AlertReport[] = [];
  try {
    await sendClaimed(env, objectOf(h), claimed.messages, loadIncident, reports, h.lease_until);
  } finally {
    await reportWithRetries(() => groups.reportAlerts(reports));
  }
  return reports.length;
}

/** A report tried a few times in place: a report lost to a passing RPC error would send its messages again after the lease. */
async function reportWithRetries(report: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await report();
    } catch (err) {
      if (attempt >= REPORT_RETRIES) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

/**
 * Sends claimed messages, pushing each outcome to `reports` as it comes. It stops after
 * SEND_BUDGET_MS, and early enough that no send is still running when the hand-off's lease ends
 * (a later hand-off may then take the message); what is left is reported not ready, so it goes
 * again within seconds, not at the lease's end.
 */
async function sendClaimed(
  env: Env,
  object: Record<string, string>,
  claimed: readonly OutboxMessage[],
  loadIncident: (id: string) => Promise<ApiIncident | null>,
  reports: AlertReport[],
  leaseUntil: number,
): Promise<void> {
  let channels: StoredChannel[] | null = null;
  const source: SendSource = {
    channels: async () => (channels ??= await loadEnabledChannels(env.DB)),
    loadIncident,
    dashboardUrl: dashboardUrl(env),
  };
  const stopAt = Math.min(Date.now() + SEND_BUDGET_MS, leaseUntil - DELIVERY_TIMEOUT_MS - LEASE_MARGIN_MS);
  for (const message of claimed) {
    const at = Date.now();
    if (at > stopAt) {
      // A slow receiver must not hold the rest for long, nor a late claim outlive its lease.
      reports.push({ message, outcome: { kind: "not_ready" }, at });
      continue;
    }
    // A send that throws (D1 unreadable) is not ready: tried again shortly, the others still go.
    const outcome = await sendMessage(source, message, at).catch((err: unknown): SendOutcome => {
      log("warn", "alert_send_failed", { ...object, message: errorMessage(err) });
      return { kind: "not_ready" };
    });
    reports.push({ message, outcome, at });
  }
}
