// @ts-check
/**
 * CPU profile of the monitor's worker isolate (the worker and its Durable Objects) over a few
 * seconds, through workerd's DevTools inspector: start the monitor with `npm start --
 * --inspector-port 9229`, put load on it, and run `node bench/cpu-profile.mjs --port 9229
 * --seconds 60`. Prints self and total time by function, and the longest runs of samples inside
 * `transactionSync` (the object's synchronous stretches, which block the single workerd thread)
 * by what they did. The raw profile (.cpuprofile, for DevTools) goes to --out. Loopback only.
 * The bundle is minified: methods keep their names, top-level functions may not.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { inspectorTargets, openSession } from "./lib/inspector.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9229" },
    seconds: { type: "string", default: "60" },
    out: { type: "string" },
    target: { type: "string", default: "core:user:edge-monitor" },
  },
});

const targets = await inspectorTargets(values.port);
const target = targets.find((t) => t.id === values.target);
if (!target) throw new Error(`no inspector target ${values.target}: ${targets.map((t) => t.id).join(", ")}`);
const session = await openSession(target);
if (!session) throw new Error(`cannot open the inspector of ${target.id}`);
const { call } = session;
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 1000 });
await call("Profiler.start");
await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number }} callFrame
 * @property {number[]} [children]
 */
/** @type {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} */
const profile = /** @type {import("./lib/inspector.mjs").ProtocolMessage} */ (await call("Profiler.stop")).result
  .profile;
session.close();
if (values.out) writeFileSync(values.out, JSON.stringify(profile));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
/** @type {Map<number, number>} */
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (/** @type {ProfileNode} */ n) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`;
const stackOf = (/** @type {number} */ id) => {
  /** @type {ProfileNode[]} */
  const out = [];
  for (let c = /** @type {number | undefined} */ (id); c !== undefined; c = parent.get(c))
    out.push(/** @type {ProfileNode} */ (byId.get(c)));
  return out;
};
/** @type {Map<string, number>} */
const self = new Map();
/** @type {Map<string, number>} */
const total = new Map();
let all = 0;
/** @typedef {{ us: number, what: Map<string, number> }} Stretch */
/** @type {Stretch[]} */
const stretches = [];
/** @type {Stretch | null} */
let stretch = null;
for (let i = 0; i < profile.samples.length; i++) {
  const us = profile.timeDeltas[i + 1] ?? 0;
  const stack = stackOf(profile.samples[i]);
  all += us;
  self.set(label(stack[0]), (self.get(label(stack[0])) ?? 0) + us);
  for (const k of new Set(stack.map(label))) total.set(k, (total.get(k) ?? 0) + us);
  const names = stack.map((n) => n.callFrame.functionName);
  if (names.includes("transactionSync")) {
    stretch ??= { us: 0, what: new Map() };
    stretch.us += us;
    // What the stretch was doing: the frame just below transactionSync's caller chain that names the work.
    const what =
      ["markFlushed", "insert", "absorb", "evaluateUntil", "settle"].find((n) => names.includes(n)) ?? "other";
    stretch.what.set(what, (stretch.what.get(what) ?? 0) + us);
  } else if (stretch) {
    stretches.push(stretch);
    stretch = null;
  }
}
if (stretch) stretches.push(stretch);
const ms = (/** @type {number} */ us) => (us / 1000).toFixed(0);
const top = (/** @type {Map<string, number>} */ m, /** @type {number} */ n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${ms(v).padStart(8)} ms ${((100 * v) / all).toFixed(1).padStart(5)}%  ${k}`)
    .join("\n");
console.log(`sampled ${ms(all)} ms of ${target.id}`);
console.log(`--- self time\n${top(self, 25)}`);
console.log(`--- total time\n${top(total, 40)}`);
stretches.sort((a, b) => b.us - a.us);
const main = (/** @type {Stretch} */ s) => [...s.what].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "other";
console.log(
  `--- transactionSync stretches: ${stretches.length}, median ${ms(stretches[Math.floor(stretches.length / 2)]?.us ?? 0)} ms; longest: ${stretches
    .slice(0, 10)
    .map((s) => `${ms(s.us)} ms ${main(s)}`)
    .join(", ")}`,
);
