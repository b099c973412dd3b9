/**
 * `edge-monitor/hono`, kept for apps that import it from this repository: the middleware now lives
 * in the client package (`clients/js/src/hono.ts`, published as `edge-monitor-client/hono`).
 */
export * from "../../clients/js/src/hono.js";
