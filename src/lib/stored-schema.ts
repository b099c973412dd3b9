/**
 * zod for JSON that Durable Objects keep in their storage (engine state, incidents, groups,
 * published marks, token buckets). A schema mirrors its TypeScript type field for field
 * (`shapeOf<T>()` fails to compile when a key is missing, extra, or typed otherwise; a nested loose
 * object goes in as a const typed `z.ZodType<T>`, and an enum via `enumOf<T>()`, which must list
 * the whole union), is loose (keys it does not know are kept) and is never stricter than what was
 * stored over the versions: fields added later are optional in the type, and a number may read
 * back as null (JSON writes NaN and ±Infinity as null, and the code has always read that null as
 * it was). Parsing checks; it never converts a value.
 */
import * as z from "zod";
import { errorMessage } from "./errors";
import { log } from "./log";

/** Whether A and B are the same type. */
export type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Field schemas of T: every key of T, no other, each schema's output exactly T's field type. */
type ShapeOf<T, S> = {
  [K in keyof S]: K extends keyof T ? (Same<z.output<S[K]>, T[K]> extends true ? S[K] : never) : never;
};

/** Checks at compile time that `shape` has a schema for each field of T and none else, of T's exact types. */
export function shapeOf<T>(): <S extends { [K in keyof T]-?: z.ZodType }>(shape: S & ShapeOf<T, S>) => S {
  return (shape) => shape;
}

/** A zod enum of the string union `T`; compiles only when `values` lists every member (and nothing else). */
export function enumOf<T extends string>() {
  return <const A extends readonly [T, ...T[]]>(
    values: A & ([Exclude<T, A[number]>] extends [never] ? unknown : { missing: Exclude<T, A[number]> }),
  ): z.ZodType<T> => z.enum(values);
}

/**
 * A number as JSON stored it: JSON.stringify writes NaN and ±Infinity as null, and the code that
 * reads it does arithmetic on that null as it always did (null counts as 0; e.g. the first engine's
 * metric baselines went NaN once warm). Typed as a number because that is how the code reads it.
 */
export const storedNumber = z.custom<number>((v) => typeof v === "number" || v === null, "expected a number or null");

/**
 * The stored `text` of `key` parsed with `schema`, or null (logged as `stored_json_invalid` with
 * `fields`) when it is not JSON or does not match: the caller leaves the one bad value out.
 */
export function parseStoredOrNull<T>(
  schema: z.ZodType<T>,
  key: string,
  text: string,
  fields: Record<string, unknown> = {},
): T | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    log("error", "stored_json_invalid", { key, ...fields, message: errorMessage(err) });
    return null;
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  log("error", "stored_json_invalid", { key, ...fields, message: z.prettifyError(result.error) });
  return null;
}
