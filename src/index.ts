/** Worker entry: the HTTP app, the scheduled handler and the Durable Object classes. */
import { app } from "./app";
import { consumeAlerts } from "./alerts/queue-consumer";
import { scheduled } from "./cron/scheduled";
import { tail } from "./tail/handler";

export { EndpointMonitor } from "./monitor/endpoint-monitor";
export { ServiceRegistry } from "./monitor/service-registry";
export { IncidentGroups } from "./incidents/group-object";

export default {
  fetch: app.fetch,
  scheduled,
  tail,
  queue: consumeAlerts,
} satisfies ExportedHandler<Env>;
