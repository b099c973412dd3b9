/**
 * Hash routes of the dashboard (`#/`, `#/endpoints/:service/:method/:route`, `#/incidents`,
 * `#/incidents/:id`, `#/logs`, `#/settings`), parsed and formatted as pure functions. The hash
 * keeps every page working as a static file (Pages, the worker's assets) with no server routes,
 * and a page's filters live in the hash's query so a view can be linked and reloaded.
 */

export type Query = Record<string, string>;

export type Route =
  | { page: "overview"; query: Query }
  | { page: "endpoint"; service: string; method: string; route: string; query: Query }
  | { page: "incidents"; query: Query }
  | { page: "incident"; id: string }
  | { page: "logs"; query: Query }
  | { page: "settings" }
  | { page: "not-found"; path: string };

function parseQuery(search: string): Query {
  const out: Query = {};
  for (const [k, v] of new URLSearchParams(search)) if (v !== "") out[k] = v;
  return out;
}

function formatQuery(query: Query): string {
  const entries = Object.entries(query).filter(([, v]) => v !== "" && v !== undefined);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : "";
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The route of a location hash such as `#/endpoints/shop/GET/%2Forders%2F%3Aid?range=6h`. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "") || "/";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = parseQuery(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter((p) => p !== "");
  const [head, ...rest] = parts;
  if (head === undefined) return { page: "overview", query };
  if (head === "endpoints" && rest.length === 3) {
    const [service, method, route] = rest.map(decode);
    if (service && method && route && route.startsWith("/"))
      return { page: "endpoint", service, method: method.toUpperCase(), route, query };
  }
  if (head === "incidents" && rest.length === 0) return { page: "incidents", query };
  if (head === "incidents" && rest.length === 1) {
    const id = decode(rest[0] ?? "");
    if (id) return { page: "incident", id };
  }
  if (head === "logs" && rest.length === 0) return { page: "logs", query };
  if (head === "settings" && rest.length === 0) return { page: "settings" };
  return { page: "not-found", path };
}

/** The hash of a route (the inverse of parseHash). */
export function formatHash(route: Route): string {
  switch (route.page) {
    case "overview":
      return `#/${formatQuery(route.query)}`;
    case "endpoint":
      return `#/endpoints/${[route.service, route.method, route.route].map(encodeURIComponent).join("/")}${formatQuery(route.query)}`;
    case "incidents":
      return `#/incidents${formatQuery(route.query)}`;
    case "incident":
      return `#/incidents/${encodeURIComponent(route.id)}`;
    case "logs":
      return `#/logs${formatQuery(route.query)}`;
    case "settings":
      return "#/settings";
    case "not-found":
      return `#${route.path}`;
  }
}

/** Link to an endpoint's page. */
export function endpointHash(e: { service: string; method: string; route: string }, query: Query = {}): string {
  return formatHash({ page: "endpoint", service: e.service, method: e.method, route: e.route, query });
}

/** The API path of an endpoint (the route URL-encoded as one segment). */
export function endpointApiPath(e: { service: string; method: string; route: string }): string {
  return `/v1/endpoints/${encodeURIComponent(e.service)}/${encodeURIComponent(e.method)}/${encodeURIComponent(e.route)}`;
}
