// @ts-check
// `npm run simulate -- --scenario NAME [--via proxy|ingest] [--duration 10m] [--rate 50] [--backfill 24h] ...`:
// realistic traffic for the demo API (sim/), with a degradation the monitor should catch, sent to
// a running monitor (`npm start`). Loopback only unless --allow-remote; bounded in time and count.
// `--help` lists every option. Ctrl-C stops it early and prints what was sent.
import { startDemoOrigin } from "../demo/origin.mjs";
import { USAGE, parseSimulateArgs } from "../sim/args.mjs";
import { aggregate, controlOrigin, registerService, resolveKeys } from "../sim/client.mjs";
import { clock, createProgress, statusMix } from "../sim/progress.mjs";
import { backfill, runLive } from "../sim/run.mjs";
import { SCENARIOS, defaultTiming, degradation } from "../sim/scenarios.mjs";

let opts;
try {
  opts = parseSimulateArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${/** @type {Error} */ (err).message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const keys = resolveKeys(opts.keys);
const abort = new AbortController();
let interrupted = 0;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (++interrupted > 1) process.exit(130);
    abort.abort();
  });
}

try {
  const ready = await fetch(`${opts.url}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  if (!ready?.ok)
    throw new Error(`the monitor does not answer at ${opts.url}/health/ready: start it with npm start (or pass --url)`);

  // The plan, anchored now: the backfill ends here and live traffic starts here (shifted below
  // by however long the backfill took).
  const anchor = Date.now();
  const timing = defaultTiming({ liveStart: anchor, liveEnd: anchor + opts.durationMs, backfillMs: opts.backfillMs });
  const at = opts.changeAtMs === undefined ? timing.at : anchor + opts.changeAtMs;
  if (at < anchor - opts.backfillMs || at > anchor + opts.durationMs)
    throw new Error("--change-at falls outside the run (from minus the backfill to the duration)");
  const plan = opts.scenarios.map((name) =>
    degradation(name, {
      endpoint: opts.endpoint,
      at,
      ramp_ms: opts.rampMs ?? timing.ramp_ms,
      burst_ms: opts.rampMs ?? timing.burst_ms,
      target: opts.target,
    }),
  );
  for (const d of plan) {
    const when =
      d.at < anchor
        ? `${clock(anchor - d.at)} before the end of the backfill`
        : `${clock(d.at - anchor)} into the live traffic`;
    console.log(
      `${d.scenario} on ${d.endpoint}: ${SCENARIOS[d.scenario].what}; starts ${when}${d.ramp_ms > 0 ? `, over ${clock(d.ramp_ms)}` : ""}`,
    );
  }

  let origin = opts.origin;
  let ownOrigin = null;
  if (opts.via === "proxy") {
    if (!origin) {
      ownOrigin = await startDemoOrigin({ port: 0, seed: opts.seed });
      origin = ownOrigin.url;
      console.log(`demo origin started at ${origin}`);
    }
    await registerService(opts.url, keys.admin, opts.service, origin);
    console.log(`service ${opts.service} proxies ${opts.url}/proxy/${opts.service}/ to ${origin}`);
  }

  const progress = createProgress();
  if (opts.backfillMs > 0) {
    const from = anchor - opts.backfillMs;
    const expected = Math.round((opts.ratePerMin * opts.backfillMs) / 60_000);
    const done = await backfill({
      url: opts.url,
      ingestKey: keys.ingest,
      service: opts.service,
      plan,
      from,
      to: anchor,
      ratePerMin: opts.ratePerMin,
      seed: opts.seed,
      maxRecords: opts.maxRequests,
      signal: abort.signal,
      onBatch: ({ records, ms }) =>
        progress.update(
          `backfill ${clock(opts.backfillMs)}: ${records.toLocaleString("en")} of about ${expected.toLocaleString("en")} records (${(ms / 1000).toFixed(1)} s)`,
        ),
    });
    progress.done();
    // Catch up the seconds the backfill took, so live traffic continues the history without a gap.
    let end = anchor;
    for (let round = 0; round < 3 && !abort.signal.aborted && Date.now() - end > 1_000; round++) {
      const now = Date.now();
      done.records += (
        await backfill({
          url: opts.url,
          ingestKey: keys.ingest,
          service: opts.service,
          plan,
          from: end,
          to: now,
          ratePerMin: opts.ratePerMin,
          seed: opts.seed + round + 1,
          signal: abort.signal,
        })
      ).records;
      end = now;
    }
    console.log(
      `backfilled ${done.records.toLocaleString("en")} records over ${clock(opts.backfillMs)} of event time in ${((Date.now() - anchor) / 1000).toFixed(1)} s`,
    );
    try {
      await aggregate(opts.url, keys.admin, from);
    } catch (err) {
      console.log(`(hourly summaries not refreshed: ${/** @type {Error} */ (err).message})`);
    }
  }

  if (opts.durationMs > 0 && !abort.signal.aborted) {
    const start = Date.now();
    for (const d of plan) if (d.at >= anchor) d.at += start - anchor;
    console.log(
      `sending ${opts.via === "proxy" ? "requests through the proxy" : "records to POST /v1/logs"} for ${clock(opts.durationMs)} at ${opts.ratePerMin}/min (Ctrl-C to stop)`,
    );
    const result = await runLive({
      via: opts.via,
      url: opts.url,
      keys,
      service: opts.service,
      plan,
      start,
      end: start + opts.durationMs,
      ratePerMin: opts.ratePerMin,
      seed: opts.seed,
      originUrl: origin,
      maxRequests: opts.maxRequests,
      signal: abort.signal,
      progress,
    });
    console.log(
      `sent ${result.tally.sent} in ${clock(result.elapsedMs)}: ${statusMix(result.tally)}${result.tally.dropped ? `; ${result.tally.dropped} not delivered` : ""}`,
    );
    if (result.lastError) console.log(`last error: ${/** @type {Error} */ (result.lastError).message}`);
  }
  if (ownOrigin) await ownOrigin.close();
  else if (opts.via === "proxy")
    await controlOrigin(/** @type {string} */ (origin), { reset: true }).catch(() => undefined);
  console.log(
    `see ${opts.url}/#/?service=${opts.service} (dashboard) or GET ${opts.url}/v1/endpoints?service=${opts.service}`,
  );
  process.exit(abort.signal.aborted ? 130 : 0);
} catch (err) {
  console.error(`simulate: ${/** @type {Error} */ (err).message}`);
  process.exit(1);
}
