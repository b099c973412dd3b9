/**
 * Admin API for services: `GET /v1/services`, `GET/PUT/DELETE /v1/services/:name`, and the
 * service's detection settings (SLOs, thresholds, per-endpoint overrides):
 * `GET/PUT/DELETE /v1/services/:name/detection`. A service needs no detection settings: the
 * defaults apply; endpoint objects pick up a change within 30 seconds.
 */
import { Hono } from "hono";
import * as z from "zod";
import { ApiError } from "../http/errors";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { parseOr400, readJsonBody } from "../http/validate";
import { SERVICE_NAME, serviceSettings, toApiService } from "./config";
import { deleteService, loadDirectory, saveService } from "./store";
import { deleteDetectionSettings, loadDetectionSettings, saveDetectionSettings } from "./detection-store";
import { DEFAULT_DETECTION, detectionSettings } from "../detect/config";
import { detectionAnswerSchema, serviceListSchema, serviceSchema } from "./schemas";

const nameParams = z.object({ name: z.string().regex(SERVICE_NAME, "must be 1-64 characters of A-Z a-z 0-9 . _ -") });
const request = { params: nameParams, what: "service name" };

export const servicesApp = new Hono<AppEnv>();

defineRoute(
  servicesApp,
  {
    method: "GET",
    path: "/",
    key: "admin",
    tag: "Services",
    summary: "Every service (`source` vars or api)",
    responses: { 200: { description: "services", schema: serviceListSchema } },
  },
  async (c) => {
    // Read through, not from the isolate cache: an operator expects to see a change at once.
    const directory = await loadDirectory(c.env);
    return c.json({ services: [...directory.byName.values()].map(toApiService) });
  },
);

defineRoute(
  servicesApp,
  {
    method: "GET",
    path: "/:name",
    key: "admin",
    tag: "Services",
    summary: "One service",
    request,
    responses: { 200: { description: "the service", schema: serviceSchema }, 404: { description: "no such service" } },
  },
  async (c, { params: { name } }) => {
    const service = (await loadDirectory(c.env)).byName.get(name);
    if (!service) throw new ApiError(404, "service_not_found", `no service named ${name}`);
    return c.json(toApiService(service));
  },
);

defineRoute(
  servicesApp,
  {
    method: "PUT",
    path: "/:name",
    key: "admin",
    tag: "Services",
    summary: "Create or replace a service",
    request: { params: nameParams, body: { schema: serviceSettings, validate: false }, what: "service name" },
    responses: {
      200: { description: "updated", schema: serviceSchema },
      201: { description: "created", schema: serviceSchema },
      409: { description: "a hostname belongs to another service or to the monitor" },
    },
  },
  async (c, { params: { name } }) => {
    const settings = parseOr400(serviceSettings, await readJsonBody(c.req.raw), "service");
    const directory = await loadDirectory(c.env);
    const ownHost = new URL(c.req.url).hostname.toLowerCase();
    if (settings.hostnames.includes(ownHost)) {
      // Proxying the host the admin API is called on would lock that API out on this host.
      throw new ApiError(
        409,
        "hostname_is_monitor",
        `hostname ${ownHost} is the monitor's own: it cannot route to a service`,
      );
    }
    for (const host of settings.hostnames) {
      const owner = directory.byHost.get(host);
      if (owner && owner.name !== name) {
        throw new ApiError(409, "hostname_taken", `hostname ${host} already routes to service ${owner.name}`);
      }
    }
    const existed = directory.byName.get(name)?.source === "api";
    await saveService(c.env.DB, name, settings);
    return c.json(toApiService({ name, source: "api", ...settings }), existed ? 200 : 201);
  },
);

defineRoute(
  servicesApp,
  {
    method: "GET",
    path: "/:name/detection",
    key: "admin",
    tag: "Services",
    summary: "A service's detection settings and the defaults",
    request,
    responses: { 200: { description: "settings", schema: detectionAnswerSchema } },
  },
  async (c, { params: { name } }) => {
    const stored = await loadDetectionSettings(c.env.DB, name);
    return c.json({
      service: name,
      settings: stored?.settings ?? {},
      defaults: DEFAULT_DETECTION,
      updated_at: stored?.updated_at ?? null,
    });
  },
);

defineRoute(
  servicesApp,
  {
    method: "PUT",
    path: "/:name/detection",
    key: "admin",
    tag: "Services",
    summary: "Replace a service's detection settings",
    request: { params: nameParams, body: { schema: detectionSettings, validate: false }, what: "service name" },
    responses: {
      200: { description: "updated", schema: detectionAnswerSchema },
      201: { description: "created", schema: detectionAnswerSchema },
    },
  },
  async (c, { params: { name } }) => {
    const settings = parseOr400(detectionSettings, await readJsonBody(c.req.raw), "detection settings");
    const existed = await saveDetectionSettings(c.env.DB, name, settings);
    return c.json({ service: name, settings, defaults: DEFAULT_DETECTION }, existed ? 200 : 201);
  },
);

defineRoute(
  servicesApp,
  {
    method: "DELETE",
    path: "/:name/detection",
    key: "admin",
    tag: "Services",
    summary: "Back to the default detection settings",
    request,
    responses: { 204: { description: "done, no content" }, 404: { description: "no such detection settings" } },
  },
  async (c, { params: { name } }) => {
    if (await deleteDetectionSettings(c.env.DB, name)) return c.body(null, 204);
    throw new ApiError(
      404,
      "detection_settings_not_found",
      `service ${name} has no detection settings (the defaults apply)`,
    );
  },
);

defineRoute(
  servicesApp,
  {
    method: "DELETE",
    path: "/:name",
    key: "admin",
    tag: "Services",
    summary: "Delete a service declared through the API",
    request,
    responses: {
      204: { description: "done, no content" },
      404: { description: "no such service" },
      409: { description: "declared in the SERVICES var" },
    },
  },
  async (c, { params: { name } }) => {
    if (await deleteService(c.env.DB, name)) return c.body(null, 204);
    const declared = (await loadDirectory(c.env)).byName.get(name);
    if (declared?.source === "vars") {
      throw new ApiError(409, "declared_in_config", `service ${name} is declared in the SERVICES var: remove it there`);
    }
    throw new ApiError(404, "service_not_found", `no service named ${name}`);
  },
);
