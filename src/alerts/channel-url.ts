/**
 * Alert channel URLs: where they may point, and how they are shown. Pure.
 *
 * A channel URL makes the monitor send requests on an admin's say-so, so it must not reach into
 * the network the monitor runs in: https to a public host only. Refused: IP literals in any
 * private, loopback, link-local (cloud metadata), CGNAT, ULA, multicast, documentation or other
 * reserved range, IPv4 and IPv6 alike (IPv4-mapped, NAT64 and 6to4 forms are judged by the IPv4
 * address they carry; the URL parser has already turned decimal, hex and octal IPv4 into dotted
 * quads), single-label names and special-use or internal names (`localhost`, `*.local`,
 * `*.internal`, `*.test`, ...). Loopback (127.0.0.0/8, ::1, `localhost`, `*.localhost`) is
 * allowed, over http too, only with `ALLOW_LOOPBACK_ALERT_URLS=true`, for local development.
 * The check runs when a channel is written and again before every send. A public name that
 * resolves to a private address is not caught here: a Worker cannot resolve names itself.
 *
 * A webhook URL is often the credential itself (Slack, Discord, Teams, Power Automate), so it is
 * never shown whole: `maskChannelUrl` is the one masking used by every answer and error text.
 */
import { config } from "../config";
import { REDACTED, redactQuery } from "../redact";

export interface AlertUrlPolicy {
  /** Loopback hosts allowed (http or https): `ALLOW_LOOPBACK_ALERT_URLS=true`, development only. */
  allowLoopback: boolean;
}

/** The policy from the environment: loopback only when `ALLOW_LOOPBACK_ALERT_URLS` is "true". */
export function alertUrlPolicy(env: { ALLOW_LOOPBACK_ALERT_URLS?: string }): AlertUrlPolicy {
  return { allowLoopback: config(env).ALLOW_LOOPBACK_ALERT_URLS };
}

type HostVerdict = { kind: "public" } | { kind: "loopback"; what: string } | { kind: "refused"; what: string };

const LOOPBACK_SETTING = "ALLOW_LOOPBACK_ALERT_URLS=true";

// [first address, prefix length, what it is]. Anything not listed is public.
const IPV4_RESERVED: readonly [string, number, string][] = [
  ["0.0.0.0", 8, 'a "this network" address (0.0.0.0/8)'],
  ["10.0.0.0", 8, "a private address (10.0.0.0/8)"],
  ["100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  ["169.254.0.0", 16, "a link-local address (169.254.0.0/16, where cloud metadata services answer)"],
  ["172.16.0.0", 12, "a private address (172.16.0.0/12)"],
  ["192.0.0.0", 24, "an IETF protocol address (192.0.0.0/24)"],
  ["192.0.2.0", 24, "a documentation address (192.0.2.0/24)"],
  ["192.88.99.0", 24, "a 6to4 relay address (192.88.99.0/24)"],
  ["192.168.0.0", 16, "a private address (192.168.0.0/16)"],
  ["198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"],
  ["198.51.100.0", 24, "a documentation address (198.51.100.0/24)"],
  ["203.0.113.0", 24, "a documentation address (203.0.113.0/24)"],
  ["224.0.0.0", 4, "a multicast address (224.0.0.0/4)"],
  ["240.0.0.0", 4, "a reserved or broadcast address (240.0.0.0/4)"],
];

/** The four bytes of a dotted-quad IPv4 address, or null. */
export function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

const toUint32 = (b: number[]): number =>
  (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;

function ipv4Verdict(bytes: number[]): HostVerdict {
  if (bytes[0] === 127) return { kind: "loopback", what: "a loopback address (127.0.0.0/8)" };
  const value = toUint32(bytes);
  for (const [first, prefix, what] of IPV4_RESERVED) {
    const base = toUint32(parseIPv4(first) ?? []);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((value & mask) >>> 0 === base) return { kind: "refused", what };
  }
  return { kind: "public" };
}

/** The eight 16-bit groups of an IPv6 address (without brackets; a trailing dotted quad allowed), or null. */
export function parseIPv6(text: string): number[] | null {
  let hex = text.toLowerCase();
  const quad = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(hex);
  if (quad?.[1]) {
    const v4 = parseIPv4(quad[1]);
    if (!v4) return null;
    const group = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    hex = `${hex.slice(0, quad.index)}${group(v4[0] ?? 0, v4[1] ?? 0)}:${group(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const halves = hex.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (!part) return [];
    const groups = part.split(":");
    return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map((g) => parseInt(g, 16)) : null;
  };
  const left = parse(halves[0]);
  const right = parse(halves[1]);
  if (!left || !right) return null;
  const known = left.length + right.length;
  if (halves.length === 1) return known === 8 ? left : null;
  if (known > 7) return null;
  return [...left, ...new Array<number>(8 - known).fill(0), ...right];
}

const embeddedV4 = (hi: number, lo: number): number[] => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

function ipv6Verdict(g: number[]): HostVerdict {
  const [a = 0, b = 0, c = 0, , , f = 0, g6 = 0, h = 0] = g;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  // A form that carries an IPv4 address is judged by that address.
  const carried = (v4: number[], form: string): HostVerdict => {
    const inner = ipv4Verdict(v4);
    return inner.kind === "public" ? inner : { kind: inner.kind, what: `${inner.what}, carried in ${form}` };
  };
  if (zeroUpTo(7) && h === 0) return { kind: "refused", what: "the unspecified address (::)" };
  if (zeroUpTo(7) && h === 1) return { kind: "loopback", what: "the loopback address (::1)" };
  if (zeroUpTo(5) && f === 0xffff) return carried(embeddedV4(g6, h), "an IPv4-mapped IPv6 address (::ffff:0:0/96)");
  if (zeroUpTo(6)) return { kind: "refused", what: "an IPv4-compatible IPv6 address (::/96, deprecated)" };
  if (a === 0x64 && b === 0xff9b && g.slice(2, 6).every((x) => x === 0))
    return carried(embeddedV4(g6, h), "a NAT64 address (64:ff9b::/96)");
  if (a === 0x64 && b === 0xff9b && c === 1) return { kind: "refused", what: "a local NAT64 address (64:ff9b:1::/48)" };
  if (a === 0x2002) return carried(embeddedV4(b, c), "a 6to4 address (2002::/16)");
  if ((a & 0xfe00) === 0xfc00) return { kind: "refused", what: "a unique local address (fc00::/7)" };
  if ((a & 0xffc0) === 0xfe80) return { kind: "refused", what: "a link-local address (fe80::/10)" };
  if ((a & 0xffc0) === 0xfec0) return { kind: "refused", what: "a site-local address (fec0::/10)" };
  if ((a & 0xff00) === 0xff00) return { kind: "refused", what: "a multicast address (ff00::/8)" };
  if (a === 0x2001 && b === 0x0db8) return { kind: "refused", what: "a documentation address (2001:db8::/32)" };
  if (a === 0x3fff && b < 0x1000) return { kind: "refused", what: "a documentation address (3fff::/20)" };
  if (a === 0x2001 && b < 0x0200)
    return { kind: "refused", what: "an IETF protocol address (2001::/23, Teredo included)" };
  if ((a & 0xe000) !== 0x2000) return { kind: "refused", what: "not a global unicast address (outside 2000::/3)" };
  return { kind: "public" };
}

// Top-level names that are never public: special-use (RFC 6761, 6762, 7686, 8375, 9476) and the
// suffixes networks use internally.
const NON_PUBLIC_TLDS = new Set([
  "local",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "localdomain",
  "test",
  "example",
  "invalid",
  "onion",
  "alt",
  "arpa",
]);

/** Whether `hostname` (as `URL.hostname` gives it) is public, loopback, or refused, and why. */
export function hostVerdict(hostname: string): HostVerdict {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIPv6(host.slice(1, -1));
    return groups ? ipv6Verdict(groups) : { kind: "refused", what: "an IPv6 address that cannot be read" };
  }
  const v4 = parseIPv4(host);
  if (v4) return ipv4Verdict(v4);
  if (host === "localhost" || host.endsWith(".localhost"))
    return { kind: "loopback", what: `a loopback name (${host})` };
  const labels = host.split(".");
  if (labels.length < 2) return { kind: "refused", what: `a single-label name (${host}), not a public host` };
  const tld = labels[labels.length - 1] ?? "";
  if (NON_PUBLIC_TLDS.has(tld)) return { kind: "refused", what: `a name under .${tld}, which is not public` };
  return { kind: "public" };
}

/**
 * What is wrong with `value` as a channel URL under `policy`, as `must ...` messages (empty when
 * nothing is). The messages name the host, never the path or query (a credential for Slack).
 */
export function channelUrlProblems(value: string, policy: AlertUrlPolicy): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return ["must be an absolute URL"];
  }
  const problems: string[] = [];
  const verdict = url.protocol === "https:" || url.protocol === "http:" ? hostVerdict(url.hostname) : null;
  const loopbackAllowed = policy.allowLoopback && verdict?.kind === "loopback";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackAllowed)) {
    problems.push(`must be https (http only to loopback, with ${LOOPBACK_SETTING} for local development)`);
  }
  if (verdict?.kind === "refused") problems.push(`must point at a public host: ${url.hostname} is ${verdict.what}`);
  if (verdict?.kind === "loopback" && !policy.allowLoopback) {
    problems.push(
      `must point at a public host: ${url.hostname} is ${verdict.what}, allowed only with ${LOOPBACK_SETTING} (local development)`,
    );
  }
  if (url.username || url.password) problems.push("must not hold credentials (user:password@)");
  if (url.hash) problems.push("must not hold a fragment");
  return problems;
}

// Webhook hosts whose URL path is the credential, and how many leading path segments stay in
// view ("all": only the query is secret, as Power Automate's `sig`).
const CREDENTIAL_HOSTS: readonly { host: RegExp; keep: number | "all" }[] = [
  { host: /^hooks\.slack\.com$/, keep: 3 }, // /services/T…/B…/<token>
  { host: /^(?:[a-z0-9-]+\.)?discord(?:app)?\.com$/, keep: 3 }, // /api/webhooks/<id>/<token>
  { host: /(^|\.)webhook\.office\.com$|^outlook\.office(365)?\.com$/, keep: 1 }, // /webhookb2/<ids and token>
  { host: /(^|\.)logic\.azure\.com$|(^|\.)api\.powerplatform\.com$/, keep: "all" },
];

/**
 * The URL as the API shows it. A Slack channel, or a URL of a known webhook host (Slack,
 * Discord, Teams, Power Automate, whatever the channel type), shows no token: its path after the
 * public segments is one `[redacted]` (a trailing slash or extra segments change nothing) and
 * every query value is redacted; any other URL keeps its path, with sensitive query values
 * redacted. An unparsable URL is redacted whole.
 */
export function maskChannelUrl(type: string, url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return REDACTED;
  }
  const host = u.hostname.toLowerCase().replace(/\.+$/, "");
  const known = CREDENTIAL_HOSTS.find((c) => c.host.test(host));
  const query = u.search.slice(1);
  if (!known && type !== "slack") return `${u.origin}${u.pathname}${query ? `?${redactQuery(query)}` : ""}`;
  const segments = u.pathname.split("/").filter((s) => s.length > 0);
  // An unknown host of a Slack channel: the last segment is taken to be the token.
  const keep = known
    ? known.keep === "all"
      ? segments.length
      : Math.min(known.keep, Math.max(0, segments.length - 1))
    : Math.max(0, segments.length - 1);
  const kept = segments.slice(0, keep);
  const path = keep < segments.length ? `/${[...kept, REDACTED].join("/")}` : `/${kept.join("/")}`;
  const maskedQuery = query.replace(/(^|[&;])([^=&;]*)=[^&;]*/g, `$1$2=${REDACTED}`);
  return `${u.origin}${path}${query ? `?${maskedQuery}` : ""}`;
}
