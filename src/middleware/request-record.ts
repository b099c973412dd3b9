/** The Hono middleware's record, now in the client package (`clients/js/src/request-record.ts`). */
export * from "../../clients/js/src/request-record.js";
