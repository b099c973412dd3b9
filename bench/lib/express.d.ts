// The little of Express (no @types/express installed) that bench/lib/client-apps.mjs and the client tests use.
declare module "express" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  interface Request extends IncomingMessage {
    params: Record<string, string>;
  }
  interface Response extends ServerResponse {
    json(body: unknown): Response;
    send(body: unknown): Response;
  }
  interface Express {
    (req: IncomingMessage, res: ServerResponse): void;
    use(handler: unknown): Express;
    get(path: string, handler: (req: Request, res: Response) => void): Express;
  }
  function express(): Express;
  export default express;
}
