/**
 * Cron dispatch: one switch on `controller.cron` (the schedules are in wrangler.toml). Each job
 * is bounded in time and idempotent, so an overlapping or repeated run (cron is at-least-once)
 * leaves the same rows. A failed job is recorded in `job_runs` and logged; the invocation then
 * fails too, so the platform shows it. So does a cron this switch does not know (a schedule added
 * to wrangler.toml and not here): test/unit/crons.test.ts keeps the two lists equal.
 */
import { switches } from "../control/switches";
import { log } from "../lib/log";
import { runProbes } from "../probes/run";
import { prune } from "../retention/prune";
import { aggregate } from "../summaries/aggregate";
import { runJob } from "./jobs";
import { meteredEnv, workerMeter } from "../cost/worker";

/** The schedules of wrangler.toml `[triggers] crons`, one per job. */
export const CRONS = { probes: "* * * * *", aggregate: "*/5 * * * *", prune: "17 3 * * *" } as const;

/** The Worker's `scheduled` handler: runs the job of `controller.cron`. */
export async function scheduled(controller: ScheduledController, rawEnv: Env, _ctx: ExecutionContext): Promise<void> {
  const now = controller.scheduledTime || Date.now();
  // A cron run is a Worker invocation; its D1 rows count in this isolate's meter (and the job's).
  workerMeter.add({ worker_requests: 1 });
  const env = meteredEnv(rawEnv, workerMeter);
  switch (controller.cron) {
    case CRONS.aggregate:
      await runJob(env.DB, "aggregate", (ctx) => aggregate(meteredEnv(env, ctx.meter), ctx), now);
      return;
    case CRONS.prune:
      await runJob(env.DB, "prune", (ctx) => prune(meteredEnv(env, ctx.meter), ctx), now);
      return;
    case CRONS.probes:
      if (!(await switches(env.DB)).probes) {
        log("info", "probes_paused", { cron: controller.cron });
        return;
      }
      await runJob(env.DB, "probes", (ctx) => runProbes(meteredEnv(env, ctx.meter), ctx), now);
      return;
    default:
      log("error", "cron_unknown", { cron: controller.cron });
      throw new Error(`unknown cron "${controller.cron}": add it to CRONS in src/cron/scheduled.ts`);
  }
}
