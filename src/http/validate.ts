/** The one zod validation hook: a failed parse becomes a 400 `invalid_request` with field errors. */
import type { z } from "zod";
import { ApiError } from "./errors";

/** The request body as JSON, or a 400 `invalid_body` when it is not JSON. */
export async function readJsonBody(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new ApiError(400, "invalid_body", "the body must be a JSON object");
  }
}

/** Field-level messages from a zod error: `["limit: Too big: expected number to be <=1000"]`. */
export function zodMessages(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/** Parses `input` with `schema` or throws a 400 ApiError listing every problem. */
export function parseOr400<T extends z.ZodType>(schema: T, input: unknown, what = "query"): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ApiError(400, "invalid_request", `invalid ${what}`, zodMessages(result.error));
  }
  return result.data;
}
