/**
 * `edge-monitor-client/node`: wraps a plain Node `http` request listener. Node has no router,
 * so the route is the monitor's own templating of the path, unless `route` names it.
 */
import {
  recordWhenDone,
  routeFromUrl,
  toClient,
  type ClientOrOptions,
  type NodeRequest,
  type NodeResponse,
} from "./node-record.js";

export interface NodeMonitorOptions<Req extends NodeRequest> {
  /** The route of a request (e.g. from your own router); default: the path templated. */
  route?: (req: Req) => string | undefined;
}

/** The listener, reporting each request to the monitor: `http.createServer(withMonitor(client, handler))`. */
export function withMonitor<Req extends NodeRequest, Res extends NodeResponse>(
  clientOrOptions: ClientOrOptions,
  listener: (req: Req, res: Res) => void,
  options: NodeMonitorOptions<Req> = {},
): (req: Req, res: Res) => void {
  const client = toClient(clientOrOptions);
  return (req, res) => {
    const url = req.url ?? "/";
    recordWhenDone(client, req, res, url, () => options.route?.(req) ?? routeFromUrl(url));
    listener(req, res);
  };
}
