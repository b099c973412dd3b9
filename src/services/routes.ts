/** Admin API for services: `GET /v1/services`, `GET/PUT/DELETE /v1/services/:name`. */
import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { parseOr400 } from "../http/validate";
import { SERVICE_NAME, serviceSettings, toApiService } from "./config";
import { deleteService, loadDirectory, saveService } from "./store";

function serviceName(name: string): string {
  if (!SERVICE_NAME.test(name)) {
    throw new ApiError(400, "invalid_request", "invalid service name", ["name: must be 1-64 characters of A-Z a-z 0-9 . _ -"]);
  }
  return name;
}

async function readJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new ApiError(400, "invalid_body", "the body must be a JSON object");
  }
}

export const servicesApp = new Hono<AppEnv>()
  .use(requireKey("admin"))
  .get("/", async (c) => {
    // Read through, not from the isolate cache: an operator expects to see a change at once.
    const directory = await loadDirectory(c.env);
    return c.json({ services: [...directory.byName.values()].map(toApiService) });
  })
  .get("/:name", async (c) => {
    const name = serviceName(c.req.param("name"));
    const service = (await loadDirectory(c.env)).byName.get(name);
    if (!service) throw new ApiError(404, "service_not_found", `no service named ${name}`);
    return c.json(toApiService(service));
  })
  .put("/:name", async (c) => {
    const name = serviceName(c.req.param("name"));
    const settings = parseOr400(serviceSettings, await readJson(c.req.raw), "service");
    const directory = await loadDirectory(c.env);
    const ownHost = new URL(c.req.url).hostname.toLowerCase();
    if (settings.hostnames.includes(ownHost)) {
      // Proxying the host the admin API is called on would lock that API out on this host.
      throw new ApiError(409, "hostname_is_monitor", `hostname ${ownHost} is the monitor's own: it cannot route to a service`);
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
  })
  .delete("/:name", async (c) => {
    const name = serviceName(c.req.param("name"));
    if (await deleteService(c.env.DB, name)) return c.body(null, 204);
    const declared = (await loadDirectory(c.env)).byName.get(name);
    if (declared?.source === "vars") {
      throw new ApiError(409, "declared_in_config", `service ${name} is declared in the SERVICES var: remove it there`);
    }
    throw new ApiError(404, "service_not_found", `no service named ${name}`);
  });
