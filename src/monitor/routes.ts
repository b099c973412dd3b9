/**
 * `GET /v1/endpoints/:service/:method/:route`: an endpoint's counters, D1 backlog and last
 * hour of minute buckets, read from its Durable Object. The route is URL-encoded
 * (`/orders/:id` -> `%2Forders%2F%3Aid`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../http/types";
import { parseOr400 } from "../http/validate";
import { endpointName } from "../ingest/record";
import type { EndpointMonitor } from "./endpoint-monitor";

const endpointParams = z.object({
  service: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be a service name"),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method")
    .transform((m) => m.toUpperCase()),
  route: z.string().min(1).max(256).startsWith("/", "must start with /"),
});

export const endpointsApp = new Hono<AppEnv>().get("/:service/:method/:route", requireKey("read"), async (c) => {
  const params = parseOr400(endpointParams, c.req.param(), "endpoint");
  const ns = c.env.ENDPOINT_MONITOR;
  const stats = await ns.get(ns.idFromName(endpointName(params))).stats();
  // An endpoint that never received a record answers with zero counters under its own name.
  return c.json({ ...stats, service: params.service, method: params.method, route: params.route });
});
