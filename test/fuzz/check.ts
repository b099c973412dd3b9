/**
 * Sending fuzzed requests through the worker's own fetch handler (in-process, the real app with its
 * auth, validation, D1 and Durable Objects) and the property every answer must have: never a 5xx,
 * and every 4xx the JSON error envelope `{"error":{"code":string,"message":string,...}}`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { BASE } from "../helpers";
import type { FuzzRequest } from "./requests";

/** Counts of what a run sent, for the summary line. */
export const tally = { requests: 0, records: 0, statuses: new Map<number, number>() };

let ctx = createExecutionContext();

/** Waits for the background work (hand-offs in `waitUntil`) of every request sent so far. */
export async function settle(): Promise<void> {
  const current = ctx;
  ctx = createExecutionContext();
  await waitOnExecutionContext(current);
}

async function gzip(body: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Sends `req` to the worker and answers with its status, content type and body text. */
export async function send(req: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
  const headers = new Headers(req.headers);
  let body: string | Uint8Array | null = req.body;
  if (req.gzip && body !== null) {
    body = await gzip(body);
    headers.set("Content-Encoding", "gzip");
  }
  const res = await worker.fetch(new Request(`${BASE}${req.target}`, { method: req.method, headers, body }), env, ctx);
  const text = await res.text();
  tally.requests++;
  tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
  return { status: res.status, type: res.headers.get("Content-Type") ?? "", text };
}

/** What is wrong with an answer, or null: a 5xx, a 4xx outside the envelope, a 2xx JSON route answering non-JSON. */
export function problemWith(
  answer: { status: number; type: string; text: string },
  jsonAnswer: boolean,
): string | null {
  const { status, type, text } = answer;
  if (status >= 500) return `answered ${status}: ${text.slice(0, 500)}`;
  const isJson = /^application\/json\b/i.test(type);
  if (status >= 400) {
    if (!isJson) return `answered ${status} with Content-Type "${type}" (want application/json): ${text.slice(0, 300)}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return `answered ${status} with a body that is not JSON: ${text.slice(0, 300)}`;
    }
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.code !== "string" || typeof error.message !== "string")
      return `answered ${status} outside the error envelope: ${text.slice(0, 300)}`;
    return null;
  }
  if (status >= 200 && status < 300 && status !== 204 && jsonAnswer) {
    if (!isJson) return `answered ${status} with Content-Type "${type}" on a JSON route`;
    try {
      JSON.parse(text);
    } catch {
      return `answered ${status} with a body that is not JSON: ${text.slice(0, 300)}`;
    }
  }
  return null;
}

/** A short, printable form of a generated request (long strings cut) for failure messages. */
export function describe(req: FuzzRequest): string {
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s);
  const body =
    req.body === null
      ? "(none)"
      : typeof req.body === "string"
        ? JSON.stringify(cut(req.body))
        : `bytes[${req.body.length}]`;
  return `${req.method} ${cut(req.target)} headers=${JSON.stringify(req.headers)}${req.gzip ? " gzip" : ""} body=${body}`;
}
