/** The request and answer schemas of `POST /v1/logs` (documented by its route definition). */
import * as z from "zod";
import { MAX_RECORDS } from "./body";
import { logRecordInput } from "./record";

/** `?sync=1`: answer once the endpoint objects committed the records; any other value is ignored (as it always was). */
export const ingestQuery = z.object({ sync: z.enum(["1", "true"]).optional().catch(undefined) });

/** The body as documented: one record or an array (NDJSON too); the handler parses it record by record. */
export const ingestBody = z.union([logRecordInput, z.array(logRecordInput).max(MAX_RECORDS)]);

const int = z.number().int();

/** The 202: accepted and rejected counts; with `?sync=1` (or under backpressure) what the objects stored. */
export const ingestAnswerSchema = z.object({
  accepted: int,
  rejected: z.array(z.object({ index: int, errors: z.array(z.string()) })),
  stored: int.optional(),
  duplicates: int.optional(),
  stored_directly_in_d1: int.optional(),
});
