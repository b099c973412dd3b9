/**
 * The API client: every call carries the key the user entered, and every failure becomes one
 * `ApiFailure` whose `kind` tells the page what to say (a refused key, an unreachable API, an
 * error answer with the API's own code and message).
 */
import { getKey } from "./auth";

/** The API origin: VITE_API_BASE at build time (for a dashboard on Pages with the API elsewhere), else this page's origin. */
export const API_BASE = String(import.meta.env.VITE_API_BASE ?? "").replace(/\/+$/, "") || location.origin;

export type FailureKind = "unauthorized" | "network" | "http";

export class ApiFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiFailure";
  }
}

/** The sentence shown for a failure. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) {
    if (err.kind === "network")
      return `Cannot reach the API at ${API_BASE} (${err.message}). Is the monitor running (npm start)? Retrying on the next refresh.`;
    if (err.kind === "unauthorized")
      return `The API refused the key (401 ${err.code}): ${err.message}. Sign in again with the read or admin key.`;
    return `The API answered ${err.status} ${err.code}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; details?: unknown };
}

/** Calls the API; JSON in, JSON out (204: null). `key` overrides the stored key (sign-in checks). */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; key?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const key = init.key ?? getKey();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiFailure("network", 0, "network_error", err instanceof Error ? err.message : String(err));
  }
  if (res.status === 204) return null as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body as ErrorEnvelope | null)?.error;
    const details = Array.isArray(e?.details) ? `: ${(e.details as unknown[]).map(String).join("; ")}` : "";
    const message = `${e?.message ?? (text.slice(0, 200) || res.statusText)}${details}`;
    throw new ApiFailure(
      res.status === 401 ? "unauthorized" : "http",
      res.status,
      e?.code ?? `http_${res.status}`,
      message,
    );
  }
  return body as T;
}
