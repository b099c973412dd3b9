// The little of Express (no @types/express installed) that bench/lib/client-apps.mjs and the client tests use.
declare module "express" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export interface Request extends IncomingMessage {
    params: Record<string, string>;
  }
  export interface Response extends ServerResponse {
    json(body: unknown): Response;
    send(body: unknown): Response;
    status(code: number): Response;
  }
  interface Router {
    get(path: string, handler: (req: Request, res: Response) => void): Router;
  }
  interface Express {
    (req: IncomingMessage, res: ServerResponse): void;
    use(handler: unknown): Express;
    use(path: string, handler: unknown): Express;
    get(path: string, handler: (req: Request, res: Response) => void): Express;
  }
  function express(): Express;
  namespace express {
    function Router(): Router;
  }
  export default express;
}
