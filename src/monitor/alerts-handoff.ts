/**
 * The endpoint object's part of the alarm's alert step (src/alerts/handoff.ts): its hand-off names
 * the endpoint and the new incidents whose first alert waits for its AI summary (the queue's
 * consumer waits for them, outside the object); when the queue refuses, the alarm waits for those
 * summaries itself before it sends, as it did before the queue.
 */
import { summarizeIncident } from "../ai/summarize";
import { handOffAlerts, type HandOffTarget } from "../alerts/handoff";
import { AI_ALERT_WAIT_MS } from "../alerts/outbox";
import { endpointName } from "../ingest/record";
import { endpointOf, type MonitorContext } from "./monitor-context";

/** Runs the outbox's part of the alarm at `now`; returns when the outbox is next due (null: nothing left). */
export async function runAlerts(c: MonitorContext, now: number): Promise<number | null> {
  const name = objectName(c);
  return handOffAlerts(c.outbox, c.env.ALERTS_QUEUE, name === null ? null : endpointTarget(c.env, name), now);
}

/**
 * The object's name: an object built for an alarm after an eviction may lack it (`ctx.id.name`,
 * workerd#6850); its stored identity gives the same name, since every caller reaches an endpoint's
 * object by `endpointName` (endpoint-object.ts). Null only for an object that never took a record.
 */
function objectName(c: MonitorContext): string | null {
  if (c.name !== null) return c.name;
  const stored = endpointOf(c.store);
  return stored ? endpointName(stored) : null;
}

function endpointTarget(env: Env, endpoint: string): HandOffTarget {
  return {
    fields: { endpoint },
    summarize: true,
    body: (messages, leaseUntil, summarize) => ({ endpoint, summarize, messages, lease_until: leaseUntil }),
    onRefused: async (summarize) => {
      for (const id of summarize)
        await summarizeIncident(env, id, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined);
    },
  };
}
