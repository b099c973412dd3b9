/// <reference types="vite/client" />
/**
 * The cron schedules of wrangler.toml and the dispatch of src/cron/scheduled.ts must name the same
 * crons: a schedule the dispatch does not know would fire and do nothing, one it knows but
 * wrangler.toml lacks would never fire. wrangler.toml is read as text (Vite `?raw`), not copied.
 */
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import toml from "../../wrangler.toml?raw";
import { CRONS, scheduled } from "../../src/cron/scheduled";

/** The strings of the `crons = [...]` array of `[triggers]` (a TOML array of basic strings, possibly over several lines). */
function tomlCrons(text: string): string[] {
  const triggers = /^\[triggers\][^[]*?^crons\s*=\s*\[([^\]]*)\]/m.exec(text);
  if (!triggers?.[1]) throw new Error("wrangler.toml has no [triggers] crons");
  return [...triggers[1].replace(/#.*$/gm, "").matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "");
}

describe("cron schedules", () => {
  it("reads the real wrangler.toml", () => {
    expect(toml).toContain("[triggers]");
    expect(tomlCrons(toml).length).toBeGreaterThan(0);
  });

  it("lists in wrangler.toml exactly the crons the dispatch handles", () => {
    expect([...tomlCrons(toml)].sort()).toEqual(Object.values(CRONS).sort());
  });

  it("parses a multi-line array with comments", () => {
    expect(tomlCrons('[triggers]\ncrons = [\n  "* * * * *", # probes\n  "17 3 * * *",\n]\n')).toEqual([
      "* * * * *",
      "17 3 * * *",
    ]);
  });

  it("fails the invocation on a cron it does not know", async () => {
    const controller = createScheduledController({ cron: "1 2 3 4 5", scheduledTime: Date.now() });
    await expect(scheduled(controller, env, createExecutionContext())).rejects.toThrow(/unknown cron "1 2 3 4 5"/);
  });
});
