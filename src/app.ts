/** The monitor's HTTP API: middleware shared by every route, and each feature app mounted. */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { endpointsApp } from "./monitor/routes";
import { handleError, handleNotFound } from "./http/errors";
import type { AppEnv } from "./http/types";
import { healthApp } from "./health/routes";
import { ingestApp } from "./ingest/routes";
import { logsQueryApp } from "./query/routes";

export const app = new Hono<AppEnv>()
  .use(requestId({ headerName: "X-Request-ID" }))
  .route("/health", healthApp)
  .route("/v1/logs", ingestApp)
  .route("/v1/logs", logsQueryApp)
  .route("/v1/endpoints", endpointsApp);

app.onError(handleError);
app.notFound(handleNotFound);
