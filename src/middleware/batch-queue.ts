/** The Hono middleware's per-isolate batch, now in the client package (`clients/js/src/batch-queue.ts`). */
export * from "../../clients/js/src/batch-queue.js";
