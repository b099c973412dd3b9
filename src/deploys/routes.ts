/**
 * `POST /v1/deploys` (ingest key, so a CI job can send it with the key it already has):
 * `{service, version, at?, description?}`, `at` defaulting to now; the same (service, version)
 * again updates the one marker. `GET /v1/deploys` (read): markers of a range for the charts.
 * An incident opening within DEPLOY_CORRELATION_MINUTES after a deploy names it in its explanation.
 */
import { Hono } from "hono";
import * as z from "zod";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { notifyServiceObjects } from "../monitor/notify";
import { epochOrIso } from "../query/logs-query";
import { SERVICE_NAME } from "../services/config";
import { deployId, deployInput, type Deploy } from "./deploys";
import { deployListSchema, deploySchema } from "./schemas";
import { loadDeploys, saveDeploy } from "./store";

/** A deploy may be reported at most this far in the future (clock skew of the CI runner). */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
const DEFAULT_RANGE_MS = 24 * 60 * 60_000;

export const deploysQuery = z.object({
  service: z.string().regex(SERVICE_NAME).optional(),
  from: epochOrIso.optional(),
  to: epochOrIso.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const deploysApp = new Hono<AppEnv>();

defineRoute(
  deploysApp,
  {
    method: "POST",
    path: "/",
    key: "ingest",
    tag: "Deploys",
    summary:
      "Record a deploy marker `{service, version, at?, description?}`; the same service and version again updates it",
    request: { body: { schema: deployInput }, what: "deploy" },
    responses: {
      201: { description: "the marker", schema: deploySchema },
      400: { description: "invalid deploy (`invalid_request`)" },
    },
  },
  async (c, { body: input }) => {
    const now = Date.now();
    const at = input.at ?? now;
    if (at > now + FUTURE_TOLERANCE_MS)
      throw new ApiError(400, "invalid_request", "at is more than 5 minutes in the future");
    const deploy: Deploy = {
      id: deployId(input.service, input.version),
      service: input.service,
      version: input.version,
      at,
      description: input.description ?? null,
      source: "api",
    };
    await saveDeploy(c.env.DB, deploy, now);
    await notifyServiceObjects(c.env, deploy.service);
    return c.json(deploy, 201);
  },
);

defineRoute(
  deploysApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Deploys",
    summary: "Deploy markers of a range (default the last 24 h), newest first",
    request: { query: deploysQuery },
    responses: { 200: { description: "markers", schema: deployListSchema } },
  },
  async (c, { query: q }) => {
    const to = q.to ?? Date.now() + FUTURE_TOLERANCE_MS;
    const from = q.from ?? to - DEFAULT_RANGE_MS;
    if (to < from) throw new ApiError(400, "invalid_request", "to is before from");
    return c.json({ deploys: await loadDeploys(c.env.DB, { service: q.service, from, to, limit: q.limit }) });
  },
);
