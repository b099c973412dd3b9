/** What the shell gives a page, and what a page gives back. */
import type { Session } from "./auth";
import type { Query, Route } from "./router";

export interface PageContext {
  route: Route;
  main: HTMLElement;
  session: Session;
  /** Aborted when the page goes away: pass it to long polls. */
  signal: AbortSignal;
  /** Runs when the page goes away (charts, timers). */
  onLeave(fn: () => void): void;
  /** Replaces the page's query in the hash without reloading the page. */
  setQuery(query: Query): void;
  /** Reports an error of a background task (a live tail poll) the way a failed refresh is reported. */
  report: (err: unknown) => void;
}

export interface PageHandle {
  /** Loads the page's data and redraws it: at mount, on auto-refresh and on "Refresh now". */
  refresh(): Promise<void>;
  /** False: the 30-second auto-refresh leaves the page alone (forms being edited). */
  auto?: boolean;
}

export type Mount = (ctx: PageContext) => PageHandle;
