// The little of `ws` (no @types/ws installed) that bench/lib/inspector.mjs uses: the client socket.
import type { EventEmitter } from "node:events";

export declare class WebSocket extends EventEmitter {
  constructor(url: string);
  send(data: string): void;
  close(): void;
}
