/** The answers of `/v1/incidents` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";
import { figuresSchema, severitySchema, signalSchema } from "../detect/schemas";

const nint = z.number().int().nullable();

export const aiSummarySchema = z.object({
  summary: z.string(),
  likely_causes: z.array(z.string()),
  suggested_actions: z.array(z.string()),
  confidence: z.number(),
});

/** An incident group: endpoints of a service, or of the services behind one proxied origin, that went bad together. */
export const incidentGroupSchema = z.object({
  id: z.string(),
  service: z.string().describe("the first member's service"),
  services: z
    .array(z.string())
    .optional()
    .describe("every member's service (several when the group is a proxied origin's)"),
  origin: z
    .string()
    .nullable()
    .optional()
    .describe("the proxied origin host its members share; null when grouped per service"),
  status: z.enum(["open", "resolved"]),
  severity: severitySchema.describe("the worst member's"),
  origin_down: z.boolean().describe("probes fail together with traffic"),
  opened_at: z.number().int(),
  resolved_at: nint,
  explanation: z.string(),
  members: z.array(
    z.object({
      incident_id: z.string(),
      service: z.string().optional(),
      method: z.string(),
      route: z.string(),
      severity: z.string(),
      status: z.string(),
      opened_at: z.number().int(),
      resolved_at: nint,
    }),
  ),
});

/** An incident as the API shows it. */
export const incidentSchema = z.object({
  id: z.string(),
  service: z.string(),
  method: z.string(),
  route: z.string(),
  severity: severitySchema,
  status: z.enum(["open", "resolved"]),
  opened_at: z.number().int(),
  escalated_at: nint,
  resolved_at: nint,
  last_event_at: z.number().int(),
  severity_score: z.number(),
  health_score: z.number(),
  action: z.string(),
  signals: z.array(signalSchema),
  explanation: z.string(),
  figures_at_open: figuresSchema,
  figures: figuresSchema,
  timeline: z
    .array(
      z.object({
        at: z.number().int(),
        change: z.enum(["opened", "escalated", "resolved", "reopened"]),
        severity: severitySchema,
        signals: z.array(z.string()),
      }),
    )
    .optional()
    .describe("each change in event time (a re-opened incident keeps its id)"),
  reopened_count: z.number().int().optional(),
  concentration: z
    .array(z.unknown())
    .optional()
    .describe("consumers or locations the failures are concentrated on, or (metric `requests`) who sends a surge"),
  updated_at: z.number().int().optional(),
  ai_summary: aiSummarySchema.nullable().optional(),
  ai_model: z.string().nullable().optional(),
  ai_status: z.string().nullable().optional(),
  ai_error: z.string().nullable().optional(),
  ai_updated_at: nint.optional(),
  in_maintenance: z.boolean().optional(),
  maintenance_id: z.string().nullable().optional(),
  maintenance_released_at: nint.optional(),
  deploy: z
    .object({ id: z.string(), version: z.string(), at: z.number().int(), description: z.string().nullable() })
    .nullable()
    .optional(),
  group_id: z.string().nullable().optional().describe("the incident's group, or null"),
  group: incidentGroupSchema
    .nullable()
    .optional()
    .describe("GET /v1/incidents/:id only: the incident's group with its members"),
});

export const incidentListSchema = z.object({
  incidents: z.array(incidentSchema),
  groups: z.array(incidentGroupSchema).describe("the groups of the incidents listed"),
});
