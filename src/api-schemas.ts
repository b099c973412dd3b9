/** Every response schema module of the API, by feature (zod only; src/api-types.ts infers the types from them). */
export * as alertSchemas from "./alerts/schemas";
export * as controlSchemas from "./control/schemas";
export * as deploySchemas from "./deploys/schemas";
export * as detectSchemas from "./detect/schemas";
export * as healthSchemas from "./health/schemas";
export * as incidentSchemas from "./incidents/schemas";
export * as maintenanceSchemas from "./maintenance/schemas";
export * as monitorSchemas from "./monitor/schemas";
export * as querySchemas from "./query/schemas";
export * as serviceSchemas from "./services/schemas";
export * as summarySchemas from "./summaries/schemas";
