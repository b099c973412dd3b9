/** The monitor's HTTP API: middleware shared by every route, and each feature app mounted. */
import { Hono } from "hono";
import { analysisApp } from "./ai/analysis";
import { requestId } from "hono/request-id";
import { endpointsApp } from "./monitor/routes";
import { apiBodyLimit } from "./http/body-limit";
import { apiCors } from "./http/cors";
import { notFoundOrAsset } from "./http/assets";
import { handleError } from "./http/errors";
import type { AppEnv } from "./http/types";
import { healthApp } from "./health/routes";
import { ingestApp } from "./ingest/routes";
import { hostRouting, proxyApp } from "./proxy/routes";
import { logsQueryApp } from "./query/routes";
import { servicesApp } from "./services/routes";
import { controlApp } from "./control/routes";
import { systemHealthApp } from "./health/system";
import { incidentsApp } from "./incidents/routes";
import { statsApp, summariesApp } from "./summaries/routes";
import { alertChannelsApp, alertDeliveriesApp } from "./alerts/routes";
import { timeseriesApp } from "./timeseries/routes";
import { openapiApp } from "./openapi/routes";
import { metricsApp } from "./metrics/routes";
import { otlpApp } from "./otlp/routes";
import { archiveApp } from "./archive/routes";
import { meterRequests } from "./cost/worker";
import { maintenanceApp } from "./maintenance/routes";
import { deploysApp } from "./deploys/routes";
import { authApp } from "./auth/routes";

export const app: Hono<AppEnv> = new Hono<AppEnv>();
app
  .use(requestId({ headerName: "X-Request-ID" }))
  .use(meterRequests())
  .use(hostRouting)
  .use("/v1/*", apiCors)
  .use("/v1/*", apiBodyLimit)
  .route("/proxy", proxyApp)
  .route("/v1/services", servicesApp)
  .route("/health", healthApp)
  .route("/v1/logs", ingestApp)
  .route("/v1/logs", logsQueryApp)
  .route("/v1/otlp", otlpApp)
  .route("/v1/archive", archiveApp)
  .route("/v1/endpoints", endpointsApp)
  .route("/v1/incidents", incidentsApp)
  .route("/v1/health", systemHealthApp)
  .route("/v1/control", controlApp)
  .route("/v1/summaries", summariesApp)
  .route("/v1/stats", statsApp)
  .route("/v1/alert-channels", alertChannelsApp)
  .route("/v1/alert-deliveries", alertDeliveriesApp)
  .route("/v1/analysis", analysisApp)
  .route("/v1/maintenance", maintenanceApp)
  .route("/v1/deploys", deploysApp)
  .route("/v1/auth", authApp)
  .route("/v1/timeseries", timeseriesApp)
  .route(
    "/",
    openapiApp(() => app.routes),
  )
  .route("/metrics", metricsApp);

app.onError(handleError);
app.notFound(notFoundOrAsset);
