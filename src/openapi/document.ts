/**
 * The OpenAPI 3.1 document, built from the route specs the app serves (src/http/route.ts), read
 * back from the app's route table: one definition per route. OpenAPI 3.1 schemas are JSON Schema
 * 2020-12, zod's default target, so request schemas are converted as they are (`io: "input"`:
 * what a client sends, defaults optional; transforms and refinements have no JSON Schema form
 * and are left out) and response schemas as output. Built once per isolate. Pure.
 */
import * as z from "zod";
import type { KeyScope } from "../auth/keys";
import { routeSpecs, type MountedRoute, type ResponseSpec, type RouteMethod } from "../http/route";
import { COMPONENT_SCHEMAS } from "./components";

/** A JSON Schema (or any JSON object of the document). */
export type JsonSchema = { [key: string]: unknown };

/** One documented route: its spec as the document reads it, with the full path in OpenAPI form. */
export interface RouteDoc {
  method: RouteMethod;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  scope: KeyScope | "none";
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; contentTypes?: string[] };
  responses: Record<number, ResponseSpec>;
}

/** The methods an `ALL` route is documented with. */
export const ALL_METHODS = ["get", "post", "put", "patch", "delete"] as const;

const SECURITY: Record<KeyScope | "none", Record<string, string[]>[]> = {
  ingest: [{ ingestKey: [] }],
  // The admin key is accepted wherever the read key is.
  read: [{ readKey: [] }, { adminKey: [] }],
  admin: [{ adminKey: [] }],
  none: [],
};

const COMPONENT_REF = /"#\/\$defs\/([^"]+)"/g;

/** `schema` as JSON Schema; the shared schemas it holds (./components) become `$ref`s to them. */
function toSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  const { $schema: _dialect, $defs, ...json } = converted as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const own = Object.entries($defs ?? {}).filter(([id]) => !(id in COMPONENT_SCHEMAS));
  const text = JSON.stringify(own.length > 0 ? { ...json, $defs: Object.fromEntries(own) } : json);
  return JSON.parse(
    text.replace(COMPONENT_REF, (ref, id: string) => (id in COMPONENT_SCHEMAS ? `"#/components/schemas/${id}"` : ref)),
  ) as JsonSchema;
}

/** A shared schema itself (zod refers to its own id: its definition is in `$defs`). */
function componentSchema(id: string, schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  return json.$defs?.[id] ?? toSchema(schema, "input");
}

/** Query or path parameters from the properties of an object schema. */
function parameters(schema: z.ZodObject, where: "query" | "path"): JsonSchema[] {
  const json = toSchema(schema, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === "path" || (json.required ?? []).includes(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

function response(r: ResponseSpec): JsonSchema {
  const type = r.contentType ?? "application/json";
  if (!r.schema)
    return { description: r.description, ...(type === "application/json" ? {} : { content: { [type]: {} } }) };
  return { description: r.description, content: { [type]: { schema: toSchema(r.schema, "output") } } };
}

function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  return method + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
}

function operation(route: RouteDoc, method: string): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(route.responses)) responses[status] = response(r);
  if (route.query || route.body || route.params) responses["400"] ??= { $ref: "#/components/responses/BadRequest" };
  if (route.body) responses["413"] ??= { $ref: "#/components/responses/PayloadTooLarge" };
  if (route.scope !== "none") {
    responses["401"] ??= { $ref: "#/components/responses/Unauthorized" };
    responses["503"] ??= { $ref: "#/components/responses/AuthNotConfigured" };
  }
  const params = [
    ...(route.params ? parameters(route.params, "path") : []),
    ...(route.query ? parameters(route.query, "query") : []),
  ];
  const op: JsonSchema = {
    operationId: operationId(method, route.path),
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: SECURITY[route.scope],
    "x-key-scope": route.scope,
    ...(params.length > 0 ? { parameters: params } : {}),
    responses,
  };
  if (route.body) {
    const schema = toSchema(route.body.schema, "input");
    const content: Record<string, JsonSchema> = {};
    for (const type of route.body.contentTypes ?? ["application/json"])
      content[type] = type === "application/json" ? { schema } : { schema: { type: "string" } };
    op.requestBody = { required: true, content };
  }
  return op;
}

const errorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
};
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

function docOf({ method, path, spec }: MountedRoute): RouteDoc {
  const req = spec.request;
  return {
    method,
    path,
    tag: spec.tag,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    scope: spec.key,
    ...(req?.params ? { params: req.params } : {}),
    ...(req?.query ? { query: req.query } : {}),
    ...(req?.body
      ? { body: { schema: req.body.schema, ...(req.body.contentTypes ? { contentTypes: req.body.contentTypes } : {}) } }
      : {}),
    responses: spec.responses,
  };
}

/**
 * Every route of the app, from Hono's route table (`app.routes`): the specs it serves, in the
 * order mounted, the proxy's (answers passed through, not the API's own) last.
 */
export function documentedRoutes(appRoutes: readonly { method: string; path: string; handler: unknown }[]): RouteDoc[] {
  const mounted = routeSpecs(appRoutes).mounted;
  return [...mounted.filter((r) => !r.spec.passThrough), ...mounted.filter((r) => r.spec.passThrough)].map(docOf);
}

/** The OpenAPI 3.1 document of `routes` (`documentedRoutes(app.routes)`). */
export function buildDocument(version: string, routes: readonly RouteDoc[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    for (const method of route.method === "ALL" ? ALL_METHODS : [route.method.toLowerCase()])
      item[method] = operation(route, method);
  }
  const schemas: Record<string, JsonSchema> = { Error: errorSchema };
  for (const [name, schema] of Object.entries(COMPONENT_SCHEMAS)) schemas[name] = componentSchema(name, schema);
  const bearer = (who: string) => ({ type: "http", scheme: "bearer", description: who });
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-monitor",
      version,
      description:
        "API monitor on Cloudflare Workers: ingest request logs or proxy your API, query logs, endpoints, incidents, summaries and time series. Keys are bearer tokens: `Authorization: Bearer <key>`.",
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        ingestKey: bearer("An ingest key (the INGEST_KEYS secret, comma-separated): POST /v1/logs."),
        readKey: bearer("The read key (READ_KEY). The admin key is accepted wherever the read key is."),
        adminKey: bearer("The admin key (ADMIN_KEY): configuration and control."),
      },
      schemas,
      responses: {
        BadRequest: errorResponse(
          "invalid query, parameters or body (`invalid_request`, with field messages in `details`)",
        ),
        PayloadTooLarge: errorResponse(
          "body over the route's limit, 64 KiB unless stated (`payload_too_large`, `details.max_bytes`)",
        ),
        Unauthorized: errorResponse("missing or wrong bearer key (`unauthorized`)"),
        AuthNotConfigured: errorResponse(
          "no key of this scope is configured (`auth_not_configured`, naming the secret)",
        ),
      },
    },
  };
}
