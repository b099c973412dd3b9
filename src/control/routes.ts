/** The control API (admin key): re-evaluation, background jobs, switches and status. */
import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../http/types";
import { jobsApp } from "./jobs";
import { reevaluateApp } from "./reevaluate";

export const controlApp = new Hono<AppEnv>().use(requireKey("admin")).route("/", reevaluateApp).route("/", jobsApp);
