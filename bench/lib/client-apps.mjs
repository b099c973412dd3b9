// @ts-check
/**
 * The apps of bench/client-latency.mjs, in their own process (as an app runs apart from whatever
 * calls it): one Express app per monitor endpoint given in argv (JSON `{name: endpoint|null}`),
 * each with the built client (clients/js/dist) at its default options, or without it for `null`.
 * Prints `{name: port}` as one JSON line when all listen; `GET /__stats` answers a client's counters.
 */
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../clients/js/dist/esm");
const { createClient } = await import(pathToFileURL(join(dist, "index.js")).href);
const { expressMonitor } = await import(pathToFileURL(join(dist, "express.js")).href);

/** @type {Record<string, string | null>} */
const endpoints = JSON.parse(process.argv[2] ?? "{}");
/** @type {Record<string, number>} */
const ports = {};
for (const [name, endpoint] of Object.entries(endpoints)) {
  const app = express();
  const client = endpoint ? createClient({ endpoint, service: "bench-client", ingestKey: "bench" }) : null;
  if (client) app.use(expressMonitor(client));
  app.get("/orders/:id", (req, res) => res.json({ id: req.params.id, items: [1, 2, 3] }));
  app.get("/__stats", (_req, res) => res.json(client ? client.stats() : null));
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  ports[name] = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
}
console.log(JSON.stringify(ports));
