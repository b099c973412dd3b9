/**
 * `edge-monitor-client`: the core (batching, retries, redaction) and the record type. Adapters
 * are separate entry points so an app loads only its own: `edge-monitor-client/express`,
 * `/fastify`, `/node`, `/hono`, `/next`.
 */
export { createClient, MonitorClient, type ClientOptions, type ClientStats } from "./client.js";
export { buildRecord, type MonitorRecord, type RequestFacts, type HeaderReader } from "./request-record.js";
export { backoffDelay } from "./backoff.js";
