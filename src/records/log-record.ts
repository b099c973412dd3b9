/**
 * The one record type every path produces (client batches, proxy, probes, tail, OTLP) and every
 * store keeps (the endpoint object's buffer, D1, R2). A model of its own so storage code does not
 * depend on the ingest edge that normalises it (src/ingest/record.ts).
 */
/** A normalised record, as buffered in the Durable Object and stored in D1. */
export interface LogRecord {
  /** Deterministic storage key: from the client's `id` when given, so retries are stored once. */
  key: string;
  timestamp: number;
  received_at: number;
  service: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latency_ms: number;
  ttfb_ms: number | null;
  request_bytes: number | null;
  response_bytes: number | null;
  error: string | null;
  response_empty: boolean;
  /** A 2xx whose body reports an error, or a 5xx whose body claims success. */
  inconsistent: boolean;
  id: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  consumer: string | null;
  region: string | null;
  attributes: Record<string, string | number | boolean> | null;
  /** The service's version that answered, when the client or the proxy knew it (not stored in D1; it feeds the deploy markers). */
  version?: string | null;
  /** Where it came from: a client's batch, the reverse proxy, or a synthetic probe (src/probes). */
  source: "ingest" | "proxy" | "probe" | "tail" | "otlp";
  /** Counted by the endpoint but not stored raw (proxy sampling keeps counters exact). */
  sampled_out?: boolean;
}
