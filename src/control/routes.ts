/** The control API (admin key): re-evaluation, background jobs, switches, status and the quarantine. */
import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../http/types";
import { jobsApp } from "./jobs";
import { quarantineApp } from "./quarantine";
import { reevaluateApp } from "./reevaluate";

export const controlApp = new Hono<AppEnv>()
  .use(requireKey("admin"))
  .route("/", reevaluateApp)
  .route("/", jobsApp)
  .route("/", quarantineApp);
