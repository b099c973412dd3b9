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
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { notifyServiceObjects } from "../monitor/notify";
import { SERVICE_NAME } from "../services/config";
import { deleteWindow, loadWindow, loadWindows, saveWindow } from "./store";
import { createdWindowSchema, windowListSchema } from "./schemas";
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

const maintenanceParams = z.object({ id: z.string().regex(MAINTENANCE_ID) });

export const maintenanceApp = new Hono<AppEnv>();

defineRoute(
  maintenanceApp,
  {
    method: "POST",
    path: "/",
    key: "admin",
    tag: "Maintenance",
    summary:
      "Open a maintenance window or silence for a service (or some endpoints): incidents inside it are recorded, marked in_maintenance, and alerted only if still open when it ends",
    description:
      'Give `ends_at`, or `duration_minutes` ("now for N minutes" when `starts_at` is left out). Times are epoch milliseconds or ISO 8601. At most 31 days.',
    request: { body: { schema: maintenanceInput }, what: "maintenance window" },
    responses: {
      201: {
        description: "the window (`endpoints_notified`: endpoint objects told at once)",
        schema: createdWindowSchema,
      },
      400: { description: "invalid window (`invalid_request`)" },
    },
  },
  async (c, { body: input }) => {
    const made = windowFrom(input, newId(), Date.now());
    if (!made.ok) throw new ApiError(400, "invalid_request", made.message);
    await saveWindow(c.env.DB, made.window);
    const notified = await notifyServiceObjects(c.env, made.window.service);
    return c.json({ ...made.window, active: made.window.starts_at <= Date.now(), endpoints_notified: notified }, 201);
  },
);

// Read scope (the admin key works too): the dashboard shows the windows on its charts.
defineRoute(
  maintenanceApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Maintenance",
    summary: "Maintenance windows not yet ended (with `include_ended`, those of the last 7 days too)",
    request: { query: maintenanceQuery },
    responses: { 200: { description: "windows by start", schema: windowListSchema } },
  },
  async (c, { query: q }) => {
    const now = Date.now();
    const ended = q.include_ended === "true" || q.include_ended === "1";
    const windows = await loadWindows(c.env.DB, {
      service: q.service,
      endsAfter: ended ? now - ENDED_KEPT_MS : now,
      limit: 500,
    });
    return c.json({ windows: windows.map((w) => ({ ...w, active: w.starts_at <= now && w.ends_at > now })) });
  },
);

defineRoute(
  maintenanceApp,
  {
    method: "DELETE",
    path: "/:id",
    key: "admin",
    tag: "Maintenance",
    summary: "Remove a maintenance window (an incident it held and still open is alerted at the next minute)",
    request: {
      params: maintenanceParams,
      invalidParams: (raw) =>
        new ApiError(404, "maintenance_not_found", `no maintenance window ${(raw.id ?? "").slice(0, 60)}`),
    },
    responses: { 204: { description: "done, no content" }, 404: { description: "no such maintenance window" } },
  },
  async (c, { params: { id } }) => {
    const window = await loadWindow(c.env.DB, id);
    if (!window || !(await deleteWindow(c.env.DB, id)))
      throw new ApiError(404, "maintenance_not_found", `no maintenance window ${id}`);
    await notifyServiceObjects(c.env, window.service);
    return c.body(null, 204);
  },
);
