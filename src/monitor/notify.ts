/**
 * Tells a service's endpoint objects that its maintenance windows or deploys changed, so they
 * read them again before their next evaluation instead of after their cache's TTL. The objects
 * are found in `endpoint_health` (every object that has evaluated a minute publishes a row there);
 * one that has not yet loads the context fresh anyway. Bounded in count and time; a failure only
 * delays the change to the TTL, so it is logged and never fails the request.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { endpointHealth } from "../db/schema";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { endpointObject } from "./endpoint-object";

const MAX_OBJECTS = 1000;
const NOTIFY_BUDGET_MS = 3_000;

/** Invalidates the service context of every known endpoint object of `service`; returns how many were told. */
export async function notifyServiceObjects(env: Env, service: string): Promise<number> {
  try {
    const rows = await drizzle(env.DB)
      .select({ service: endpointHealth.service, method: endpointHealth.method, route: endpointHealth.route })
      .from(endpointHealth)
      .where(eq(endpointHealth.service, service))
      .limit(MAX_OBJECTS)
      .all();
    const results = await withTimeout(
      Promise.allSettled(rows.map((r) => endpointObject(env, r).invalidateContext())),
      NOTIFY_BUDGET_MS,
    );
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) log("warn", "service_notify_partial", { service, objects: rows.length, failed });
    return rows.length - failed;
  } catch (err) {
    log("warn", "service_notify_failed", { service, message: err instanceof Error ? err.message : String(err) });
    return 0;
  }
}
