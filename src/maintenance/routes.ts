/**
 * `POST /v1/maintenance` (admin): a maintenance window or silence for a service, or some of its
 * endpoints, from `starts_at` (default now) to `ends_at`, or for `duration_minutes`. Detection
 * keeps running inside it and incidents are recorded, marked `in_maintenance`, without an alert;
 * one still open when the window ends is alerted then. `GET /v1/maintenance` (read) lists the windows
 * not yet ended (`service`, `include_ended` for the last 7 days too); `DELETE /v1/maintenance/:id`
 * removes one (ending its silence at once).
 */
import { Hono } from "hono";
import * as z from "zod";
import { requireKey } from "../auth/keys";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { parseOr400, readJsonBody } from "../http/validate";
import { notifyServiceObjects } from "../monitor/notify";
import { SERVICE_NAME } from "../services/config";
import { deleteWindow, loadWindow, loadWindows, saveWindow } from "./store";
import { maintenanceInput, windowFrom } from "./windows";

export const MAINTENANCE_ID = /^mnt_[a-z0-9]{8,40}$/;
const ENDED_KEPT_MS = 7 * 24 * 60 * 60_000;

export const maintenanceQuery = z.object({
  service: z.string().regex(SERVICE_NAME).optional(),
  include_ended: z.enum(["true", "false", "1", "0"]).optional(),
});

function newId(): string {
  return `mnt_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
}

export const maintenanceApp = new Hono<AppEnv>()
  .post("/", requireKey("admin"), async (c) => {
    const input = parseOr400(maintenanceInput, await readJsonBody(c.req.raw), "maintenance window");
    const made = windowFrom(input, newId(), Date.now());
    if (!made.ok) throw new ApiError(400, "invalid_request", made.message);
    await saveWindow(c.env.DB, made.window);
    const notified = await notifyServiceObjects(c.env, made.window.service);
    return c.json({ ...made.window, active: made.window.starts_at <= Date.now(), endpoints_notified: notified }, 201);
  })
  // Read scope (the admin key works too): the dashboard shows the windows on its charts.
  .get("/", requireKey("read"), async (c) => {
    const q = parseOr400(maintenanceQuery, c.req.query());
    const now = Date.now();
    const ended = q.include_ended === "true" || q.include_ended === "1";
    const windows = await loadWindows(c.env.DB, { service: q.service, endsAfter: ended ? now - ENDED_KEPT_MS : now, limit: 500 });
    return c.json({ windows: windows.map((w) => ({ ...w, active: w.starts_at <= now && w.ends_at > now })) });
  })
  .delete("/:id", requireKey("admin"), async (c) => {
    const id = c.req.param("id");
    if (!MAINTENANCE_ID.test(id)) throw new ApiError(404, "maintenance_not_found", `no maintenance window ${id.slice(0, 60)}`);
    const window = await loadWindow(c.env.DB, id);
    if (!window || !(await deleteWindow(c.env.DB, id))) throw new ApiError(404, "maintenance_not_found", `no maintenance window ${id}`);
    await notifyServiceObjects(c.env, window.service);
    return c.body(null, 204);
  });
