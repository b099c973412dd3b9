/**
 * The one door to Workers AI: a single call that asks for JSON, bounded in tokens and time, and
 * fails fast. There is no retry loop: a busy model (`rejectIfBusy`, 429/3040), an error, a late
 * answer or an answer that does not validate is reported as such, and the caller keeps its
 * deterministic result. The model only ever explains: what it returns is validated here and
 * stored by the callers in AI-only fields, never used to decide anything.
 */
import type { z } from "zod";
import { DEFAULT_AI_MODEL, config } from "../config";
import { scrubDeep, scrubOutgoingText } from "../redact";
import { log } from "../lib/log";
import { zodMessages } from "../http/validate";
import { errorMessage } from "../lib/errors";

export type AiStatus = "ok" | "unavailable" | "failed" | "timeout" | "invalid";

/** Used when `AI_MODEL` is empty: active after the May 2026 catalog refresh and JSON-mode capable. */
export { DEFAULT_AI_MODEL };
export const DEFAULT_AI_TIMEOUT_MS = 15_000;

/**
 * Models documented as supporting JSON mode (`response_format` with a JSON schema). Others get
 * the schema in the prompt only, and their answer is validated the same way.
 */
const JSON_MODE_MODELS = new Set([
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
  "@cf/meta/llama-3.1-8b-instruct",
  "@cf/meta/llama-3-8b-instruct",
  "@hf/nousresearch/hermes-2-pro-mistral-7b",
  "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
]);

export interface AiAsk<T> {
  system: string;
  user: string;
  /** Validates the answer; unknown keys are dropped by the schema, never applied. */
  schema: z.ZodType<T>;
  /** The same shape as a JSON schema, for JSON mode. */
  jsonSchema: Record<string, unknown>;
  maxTokens: number;
  timeoutMs?: number;
}

export interface AiOutcome<T> {
  status: AiStatus;
  value: T | null;
  /** The model asked (null when there was none to ask). */
  model: string | null;
  error: string | null;
}

/** The configured model (`AI_MODEL`), or the default. */
export function aiModel(env: Env): string {
  return config(env).AI_MODEL;
}

/** True when the AI binding is there to be called (absent in plain local setups and some tests). */
export function aiAvailable(env: Env): boolean {
  const ai = env.AI as Ai | undefined;
  return ai !== undefined && ai !== null && typeof ai.run === "function";
}

// What the local runtime answers when the AI binding cannot reach Cloudflare (no remote access).
const LOCAL_UNAVAILABLE = /needs to be run remotely|wrangler login|not logged in/i;

const TIMED_OUT = Symbol("timeout");

const short = (message: string): string => scrubOutgoingText(message.slice(0, 300));

/** The answer's JSON: an object as is, or parsed out of a string (code fences and chatter around it tolerated). */
export function answerJson(result: unknown): unknown {
  const response = typeof result === "object" && result !== null && "response" in result ? result.response : result;
  if (typeof response !== "string") return response;
  const text = response.trim();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const start = text.indexOf("{");
    const end = text.lastIndexOf("}");
    if (start === -1 || end <= start) throw new SyntaxError("the answer holds no JSON object");
    return JSON.parse(text.slice(start, end + 1)) as unknown;
  }
}

/** One call to the model for a JSON answer: never throws, never retries. */
export async function askJson<T>(env: Env, ask: AiAsk<T>): Promise<AiOutcome<T>> {
  if (!aiAvailable(env)) return { status: "unavailable", value: null, model: null, error: "no AI binding" };
  const model = aiModel(env);
  const timeoutMs = ask.timeoutMs ?? DEFAULT_AI_TIMEOUT_MS;
  const controller = new AbortController();
  const inputs: Record<string, unknown> = {
    messages: [
      { role: "system", content: ask.system },
      { role: "user", content: ask.user },
    ],
    max_tokens: ask.maxTokens,
    temperature: 0.2,
  };
  if (JSON_MODE_MODELS.has(model)) inputs.response_format = { type: "json_schema", json_schema: ask.jsonSchema };
  // `rejectIfBusy` (fail instead of queueing for capacity) is newer than the installed types.
  const options: AiOptions & { rejectIfBusy: boolean } = { signal: controller.signal, rejectIfBusy: true };
  const outcome = (status: AiStatus, error: string | null, value: T | null = null): AiOutcome<T> => {
    if (status !== "ok") log("warn", "ai_call_failed", { model, status, error });
    return { status, value, model, error };
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let result: unknown;
  try {
    const call = env.AI.run(model, inputs, options);
    // A call that loses the race may still reject later: that rejection is expected, not unhandled.
    call.catch(() => undefined);
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    result = await Promise.race([call, timeout]);
  } catch (err) {
    const message = errorMessage(err);
    if (LOCAL_UNAVAILABLE.test(message))
      return { status: "unavailable", value: null, model: null, error: short(message) };
    return outcome("failed", short(message));
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  if (result === TIMED_OUT) {
    controller.abort();
    return outcome("timeout", `no answer within ${timeoutMs} ms`);
  }
  let json: unknown;
  try {
    json = answerJson(result);
  } catch (err) {
    return outcome("invalid", short(`not JSON: ${errorMessage(err)}`));
  }
  // Scrubbed on the way out too: the answer is stored and may be sent on to alert channels.
  const parsed = ask.schema.safeParse(scrubDeep(json));
  if (!parsed.success) return outcome("invalid", short(zodMessages(parsed.error).join("; ")));
  return outcome("ok", null, parsed.data);
}
