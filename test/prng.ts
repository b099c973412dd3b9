/**
 * The seeded pseudo-random source of the tests: scripts/lib/prng.mjs's `createRng` (sfc32), the one
 * generator the Node scripts, demo and benches use too; the same numbers on every run, so a failure
 * can be replayed.
 */
import { createRng } from "../scripts/lib/prng.mjs";

export { createRng };

/** A uniform draw in [0, 1) from `createRng(seed)`, for the tests that only need that. */
export function prng(seed: number): () => number {
  return createRng(seed).uniform;
}
