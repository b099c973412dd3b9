/**
 * The API's answers as TypeScript types, inferred from the zod schemas the routes are documented
 * and checked with (src/http/route.ts). The dashboard imports these with `import type`, so its
 * bundle holds no zod; a field changed in a schema fails the dashboard's typecheck.
 */
import type * as z from "zod";
import type {
  alertSchemas,
  controlSchemas,
  deploySchemas,
  detectSchemas,
  healthSchemas,
  incidentSchemas,
  maintenanceSchemas,
  monitorSchemas,
  querySchemas,
  serviceSchemas,
  summarySchemas,
} from "./api-schemas";

export type Health = z.infer<typeof detectSchemas.healthSchema>;
export type Figures = z.infer<typeof detectSchemas.figuresSchema>;
export type Signal = z.infer<typeof detectSchemas.signalSchema>;
export type Band = z.infer<typeof detectSchemas.bandSchema>;
export type Baselines = z.infer<typeof detectSchemas.baselinesSchema>;
export type Slo = z.infer<typeof detectSchemas.sloSchema>;
export type AiSummary = z.infer<typeof incidentSchemas.aiSummarySchema>;
export type Incident = z.infer<typeof incidentSchemas.incidentSchema>;
export type IncidentGroup = z.infer<typeof incidentSchemas.incidentGroupSchema>;
export type EndpointRow = z.infer<typeof monitorSchemas.endpointRowSchema>;
export type WindowBucket = z.infer<typeof monitorSchemas.windowBucketSchema>;
export type EndpointDetail = z.infer<typeof monitorSchemas.endpointDetailSchema>;
export type SystemHealth = z.infer<typeof healthSchemas.systemHealthSchema>;
export type MaintenanceWindow = z.infer<typeof maintenanceSchemas.maintenanceWindowSchema>;
export type Deploy = z.infer<typeof deploySchemas.deploySchema>;
export type Summary = z.infer<typeof summarySchemas.summarySchema>;
export type LogRecord = z.infer<typeof querySchemas.logRecordSchema>;
export type Delivery = z.infer<typeof alertSchemas.deliverySchema>;
export type Channel = z.infer<typeof alertSchemas.channelSchema>;
export type Probe = z.infer<typeof serviceSchemas.probeSchema>;
export type Service = z.infer<typeof serviceSchemas.serviceSchema>;
export type Switches = z.infer<typeof controlSchemas.switchesSchema>;
