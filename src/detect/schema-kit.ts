/**
 * Small helpers for the zod schemas of the engine state the endpoint object stores as JSON
 * (state-schemas.ts, incident-schemas.ts), so that each schema is checked against its TS type by
 * the compiler in both directions: a shape must name every key of the type with a schema of the
 * key's type (a field added to the type and not to its schema fails to compile), and an enum must
 * list every member of its union.
 */
import * as z from "zod";

/** The zod shape of `T`: every key, each with a schema of that key's type. */
export type ShapeOf<T> = { [K in keyof T]-?: z.ZodType<T[K]> };

/** A zod enum of the string union `T`; compiles only when `values` lists every member (and nothing else). */
export function enumOf<T extends string>() {
  return <const A extends readonly [T, ...T[]]>(
    values: A & ([Exclude<T, A[number]>] extends [never] ? unknown : { missing: Exclude<T, A[number]> }),
  ): z.ZodType<T> => z.enum(values);
}

/**
 * A number as JSON stored it: JSON.stringify writes NaN and ±Infinity as null, and the code that
 * reads it does arithmetic on that null as it always did (null counts as 0). Accepted where a
 * stored version could hold a non-finite value (the first engine's metric baselines: their
 * parameters lacked `cusum_clip`, `scale_clip` and `alpha_scale`, so mean, variance, CUSUM sums and
 * extremes went NaN once warm). Typed as a number because that is how the code reads it.
 */
export const jsonFloat = z.number().nullable() as unknown as z.ZodType<number>;
