/**
 * The one way to reach an endpoint's Durable Object: by name, "service METHOD route"
 * (endpointName), so that every caller reaches the same object for the same endpoint.
 */
import { endpointName, type LogRecord } from "../ingest/record";

/** An endpoint (service, method, route), or its name as endpointName gives it. */
export type EndpointRef = Pick<LogRecord, "service" | "method" | "route"> | string;

/** The Durable Object of an endpoint. */
export function endpointObject(
  env: Pick<Env, "ENDPOINT_MONITOR">,
  endpoint: EndpointRef,
): ReturnType<Env["ENDPOINT_MONITOR"]["getByName"]> {
  return env.ENDPOINT_MONITOR.getByName(typeof endpoint === "string" ? endpoint : endpointName(endpoint));
}
