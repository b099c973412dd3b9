/**
 * Schemas the OpenAPI document shares through `components.schemas`: wherever a route's own zod
 * schema holds one of them, the document refers to it (`$ref`) instead of repeating it. zod marks
 * them by an `id` in its global registry (beside their descriptions), so `z.toJSONSchema` puts them
 * in `$defs`; document.ts points those references at the components.
 */
import * as z from "zod";
import { logRecordInput } from "../ingest/record";

/** The shared schemas by component name. */
export const COMPONENT_SCHEMAS: Record<string, z.ZodType> = { LogRecord: logRecordInput };

for (const [id, schema] of Object.entries(COMPONENT_SCHEMAS))
  z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
