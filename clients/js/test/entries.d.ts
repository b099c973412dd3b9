// The built package's entry points (dist/esm/*.js) as the tests use them, for `// @ts-check`:
// the client's sources cannot be type-imported from tsconfig.mjs.json (NodeNext) because the
// monitor's src/ they bundle uses extensionless imports. Mirrors clients/js/src; keep in step.

export interface MonitorRecord {
  timestamp: number;
  service: string;
  method: string;
  route?: string;
  path: string;
  status: number;
  latency_ms: number;
  request_bytes?: number;
  response_bytes?: number;
  response_empty?: boolean;
  request_id?: string;
  error?: string;
  id?: string;
}

export interface HeaderReader {
  get(name: string): string | null;
}

export interface RequestFacts {
  service: string;
  method: string;
  url: string;
  route: string;
  status: number;
  startedAt: number;
  endedAt: number;
  requestHeaders: HeaderReader;
  responseHeaders: HeaderReader;
  responseHasBody: boolean;
  error?: unknown;
  id?: string;
  redactEmails?: boolean;
}

export interface ClientOptions {
  endpoint: string;
  service: string;
  ingestKey?: string;
  batchSize?: number;
  flushMs?: number;
  maxQueue?: number;
  timeoutMs?: number;
  maxRetries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  redact?: (record: MonitorRecord) => MonitorRecord | null;
  redactEmails?: boolean;
  flushOnExit?: boolean;
  fetch?: typeof fetch;
}

export interface ClientStats {
  recorded: number;
  sent: number;
  failed: number;
  rejected: number;
  dropped: number;
  retries: number;
  queued: number;
}

export interface MonitorClient {
  record(input: MonitorRecord): void;
  flush(): Promise<void>;
  shutdown(timeoutMs?: number): Promise<void>;
  stats(): ClientStats;
}

type ClientOrOptions = MonitorClient | ClientOptions;

/** dist/esm/index.js */
export interface Index {
  createClient(options: ClientOptions): MonitorClient;
  buildRecord(facts: RequestFacts): MonitorRecord | null;
  backoffDelay(attempt: number, baseMs: number, maxMs: number, random?: () => number): number;
}

export interface ExpressRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  originalUrl?: string;
  baseUrl?: string;
  route?: { path?: unknown };
}

/** dist/esm/express.js */
export interface Express {
  expressRoute(req: ExpressRequest): string | undefined;
  expressMonitor(clientOrOptions: ClientOrOptions): ((req: never, res: never, next: () => void) => void) & {
    client: MonitorClient;
  };
}

/** dist/esm/fastify.js: the plugin is registered on a real Fastify app (cast at the call). */
export interface Fastify {
  fastifyMonitor(clientOrOptions: ClientOrOptions): ((fastify: unknown, options: unknown, done: () => void) => void) & {
    [key: symbol]: unknown;
  };
}

/** dist/esm/next.js */
export interface Next {
  nextRoute(folderRoute: string): string;
  withMonitor<Args extends unknown[]>(
    clientOrOptions: ClientOrOptions,
    route: string | undefined,
    handler: (request: Request, ...rest: Args) => Response | Promise<Response>,
  ): (request: Request, ...rest: Args) => Promise<Response>;
}

export interface MonitorStats {
  recorded: number;
  sent: number;
  failed: number;
  rejected: number;
  dropped: number;
}

/** dist/esm/hono.js: `monitor` answers a Hono middleware with `stats()`. */
export interface Hono {
  monitor(options: {
    service: string;
    endpoint?: string;
    binding?: unknown;
    ingestKey?: unknown;
    batchSize?: number;
    flushMs?: number;
    timeoutMs?: number;
    redact?: (record: MonitorRecord) => MonitorRecord | null;
    redactEmails?: boolean;
  }): import("hono").MiddlewareHandler & { stats(): MonitorStats };
}

/** dist/esm/node.js */
export interface Node {
  withMonitor<Req extends ExpressRequest, Res extends { statusCode: number }>(
    clientOrOptions: ClientOrOptions,
    listener: (req: Req, res: Res) => void,
    options?: { route?: (req: Req) => string | undefined },
  ): (req: Req, res: Res) => void;
}
