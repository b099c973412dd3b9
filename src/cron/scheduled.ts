/**
 * Cron dispatch. The aggregation and retention jobs arrive with the cron issue; until then a
 * trigger is logged so that a deployed worker shows its schedule is alive.
 */
import { log } from "../http/log";

/** Scheduled handler: one dispatch on `controller.cron`. */
export async function scheduled(controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {
  log("info", "cron_tick", { cron: controller.cron, scheduled_time: controller.scheduledTime });
}
