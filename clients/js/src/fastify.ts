/**
 * `edge-monitor-client/fastify`: a Fastify plugin (4 and 5). It hooks `onRequest` and reads the
 * route template from `request.routeOptions.url` when the response is done; `onClose` flushes
 * the client. Marked to skip Fastify's encapsulation (what `fastify-plugin` does), so one
 * `register` covers every route of the app.
 */
import { recordWhenDone, toClient, type ClientOrOptions, type NodeRequest, type NodeResponse } from "./node-record.js";

/** The part of Fastify's request the plugin reads. */
export interface FastifyRequestLike {
  raw: NodeRequest;
  url: string;
  routeOptions?: { url?: string };
}

/** The part of Fastify's reply the plugin reads. */
export interface FastifyReplyLike {
  raw: NodeResponse;
}

/** The part of a Fastify instance the plugin uses. */
export interface FastifyLike {
  addHook(
    name: "onRequest",
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void,
  ): unknown;
  addHook(name: "onClose", hook: (instance: unknown, done: () => void) => void): unknown;
}

export type FastifyMonitorPlugin = ((fastify: FastifyLike, options: unknown, done: () => void) => void) & {
  [key: symbol]: unknown;
};

/** Reports each request of a Fastify app: `await app.register(fastifyMonitor(client))`. */
export function fastifyMonitor(clientOrOptions: ClientOrOptions): FastifyMonitorPlugin {
  const client = toClient(clientOrOptions);
  const plugin = (fastify: FastifyLike, _options: unknown, done: () => void): void => {
    fastify.addHook("onRequest", (request, reply, next) => {
      recordWhenDone(client, request.raw, reply.raw, request.url, () => request.routeOptions?.url);
      next();
    });
    fastify.addHook("onClose", (_instance, next) => {
      client.flush().then(next, next);
    });
    done();
  };
  return Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "edge-monitor-client",
  });
}
