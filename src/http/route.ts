/**
 * One definition per route: `defineRoute(app, spec, handler)` registers the handler on a feature's
 * Hono app and keeps the spec beside it: method, path, the key it needs, the zod schemas of its
 * path parameters, query and body (validated here, before the handler runs, in that order, after
 * the key) and of its answers. The OpenAPI document and the auth tests read the specs back from
 * the app's own route table (`routeSpecs(app.routes)`), with the full paths Hono mounted them on,
 * so a route cannot be served without being documented and checked. A small helper of ours rather
 * than @hono/zod-openapi: it adds nothing to the bundle that zod does not already bring.
 */
import type { Context, Hono } from "hono";
import type * as z from "zod";
import { checkKey, type KeyScope } from "../auth/keys";
import type { ApiError } from "./errors";
import type { AppEnv } from "./types";
import { parseOr400, readJsonBody } from "./validate";

/** `ALL`: every method is accepted (the proxy, documented as each of document.ts's ALL_METHODS). */
export type RouteMethod = "GET" | "POST" | "PUT" | "DELETE" | "ALL";

export interface ResponseSpec {
  description: string;
  /** The answer's zod schema (documented as output); required for a 2xx JSON answer. */
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
}

export interface BodySpec<B extends z.ZodType> {
  schema: B;
  /** Default `["application/json"]`; others are documented as strings. */
  contentTypes?: string[];
  /** false: documented only, the handler reads and checks the body itself (NDJSON, protobuf, a schema that depends on env). */
  validate?: boolean;
}

export interface RequestSpec<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> {
  params?: P;
  query?: Q;
  body?: B extends z.ZodType ? BodySpec<B> : undefined;
  /** Names the params and body in a 400's message (`invalid <what>`); default "request". */
  what?: string;
  /** Path parameters that fail their schema answer this error instead of a 400 (an id that cannot exist is a 404). */
  invalidParams?: (raw: Record<string, string>) => ApiError;
}

export interface RouteSpec<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: RouteMethod;
  /** Hono's form, relative to the feature app's mount point. */
  path: string;
  /** The key scope required; "none": public. */
  key: KeyScope | "none";
  /** The key is not asked when this says so (`/metrics` with METRICS_PUBLIC). */
  keyWaived?: (env: Env) => boolean;
  tag: string;
  summary: string;
  description?: string;
  request?: RequestSpec<P, Q, B>;
  responses: Record<number, ResponseSpec>;
  /** The answer is another server's, passed through as it came (the proxy): its status and body are not checked. */
  passThrough?: boolean;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What the handler receives, validated. */
export interface RouteInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

type Handler<P, Q, B> = (c: Context<AppEnv>, input: RouteInput<P, Q, B>) => Response | Promise<Response>;

const SPECS = new WeakMap<object, RouteSpec>();

/** Registers `handler` on `app` under `spec`: the key is checked, then params, query and body are validated. */
export function defineRoute<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(app: Hono<AppEnv>, spec: RouteSpec<P, Q, B>, handler: Handler<P, Q, B>): void {
  const req = spec.request;
  const what = req?.what ?? "request";
  const run = async (c: Context<AppEnv>): Promise<Response> => {
    if (spec.key !== "none" && !spec.keyWaived?.(c.env)) await checkKey(c.env, c.req.header("Authorization"), spec.key);
    let params: unknown;
    if (req?.params) {
      const raw = c.req.param() as Record<string, string>;
      const parsed = req.params.safeParse(raw);
      if (!parsed.success && req.invalidParams) throw req.invalidParams(raw);
      params = parseOr400(req.params, raw, what);
    }
    const query: unknown = req?.query ? parseOr400(req.query, c.req.query()) : undefined;
    const bodySpec = req?.body;
    const body: unknown =
      bodySpec && bodySpec.validate !== false
        ? parseOr400(bodySpec.schema, await readJsonBody(c.req.raw), what)
        : undefined;
    const res = await handler(c, { params, query, body } as RouteInput<P, Q, B>);
    // Tests set CHECK_RESPONSE_SCHEMAS: every answer of the suite is checked against its spec.
    if ((c.env as { CHECK_RESPONSE_SCHEMAS?: string }).CHECK_RESPONSE_SCHEMAS === "true")
      await checkAnswer(spec, c.req.path, res);
    return res;
  };
  SPECS.set(run, spec);
  if (spec.method === "ALL") app.all(spec.path, run);
  else app.on(spec.method, spec.path, run);
}

/** Throws when a 2xx answer has a status the spec does not list, or JSON its schema refuses. */
async function checkAnswer(spec: RouteSpec, path: string, res: Response): Promise<void> {
  if (res.status >= 300 || spec.passThrough) return;
  const where = `${spec.method} ${spec.path} (${path}) ${res.status}`;
  const doc = spec.responses[res.status];
  if (!doc) throw new Error(`response_schema_mismatch: ${where} is not documented`);
  if (!doc.schema || !(res.headers.get("Content-Type") ?? "").includes("application/json")) return;
  const parsed = doc.schema.safeParse(await res.clone().json());
  if (!parsed.success)
    throw new Error(`response_schema_mismatch: ${where}: ${JSON.stringify(parsed.error.issues.slice(0, 5))}`);
}

/** A route as the app serves it: its full path in OpenAPI form (`{param}`) and its spec. */
export interface MountedRoute {
  method: RouteMethod;
  path: string;
  spec: RouteSpec;
}

/** Hono's `/a/:b/*` as OpenAPI's `/a/{b}/{path}`, without a trailing slash. */
export function openApiPath(honoPath: string): string {
  return honoPath
    .replace(/:([A-Za-z0-9_]+)/g, "{$1}")
    .replace(/\/\*$/, "/{path}")
    .replace(/(.)\/$/, "$1");
}

/** Middleware is registered as ALL on `/*` paths; the proxy's routes are ALL on real paths. */
export function isMiddleware(r: { path: string }): boolean {
  return r.path.endsWith("/*") && !r.path.startsWith("/proxy/");
}

/**
 * The specs of the routes in Hono's route table (`app.routes`), with their mounted paths, and the
 * routes registered without one (`undocumented`, method and path as Hono has them).
 */
export function routeSpecs(routes: readonly { method: string; path: string; handler: unknown }[]): {
  mounted: MountedRoute[];
  undocumented: string[];
} {
  const mounted: MountedRoute[] = [];
  const undocumented: string[] = [];
  for (const r of routes) {
    if (isMiddleware(r)) continue;
    const h = r.handler as { __COMPOSED_HANDLER?: unknown };
    const spec = SPECS.get(r.handler as object) ?? (h.__COMPOSED_HANDLER ? SPECS.get(h.__COMPOSED_HANDLER) : undefined);
    if (spec) mounted.push({ method: spec.method, path: openApiPath(r.path), spec });
    else undocumented.push(`${r.method} ${r.path}`);
  }
  return { mounted, undocumented };
}
