/**
 * One Durable Object per group key that groups endpoints' incidents (grouping.ts has the rules):
 * per proxied origin host (`origin:<host>`, every service behind it) or per service without one.
 * Endpoint objects are separate objects that open incidents concurrently; they all ask this one,
 * which answers one call at a time from its own SQLite, so two endpoints can never both believe
 * they lead a group or both page. It sends the group's alerts through its own outbox (the same
 * AlertOutbox as the endpoints: durable, retried, deduplicated; with the `ALERTS_QUEUE` binding its
 * alarm hands them to the queue's consumer, src/alerts/handoff.ts) and publishes groups to D1 for
 * the API. Group alerts carry the first member's incident as the API shows it, with the group's
 * severity, status, explanation and a `group` object naming the members. Its tables are
 * group-rows.ts; what it reads of the members' incidents in D1, group-incidents.ts.
 */
import { DurableObject } from "cloudflare:workers";
import { handOffAlerts, type HandOffTarget } from "../alerts/handoff";
import { AlertOutbox, OUTBOX_SCHEMA, SERVICE_LIST_SEPARATOR } from "../alerts/outbox";
import type { ApiIncident } from "../alerts/payloads";
import type { AlertHandOff, AlertReport, ClaimedGroupAlerts } from "../alerts/queue-consumer";
import { config, dashboardUrl } from "../config";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { groupAlertFor, groupOpenDue, groupReminderDue, routeMemberAlert } from "./group-alerts";
import { groupAlertIncident, resolvedIncidents } from "./group-incidents";
import { GROUP_KEY_SCHEMA, rememberGroupKey } from "./group-key";
import { GROUP_SCHEMA, GroupRows } from "./group-rows";
import { publishGroups, toApiGroup } from "./group-store";
import {
  toWire,
  type AlertChange,
  type IncidentGroup,
  type MemberInput,
  type Route,
  type RouteWire,
} from "./group-types";
import { findGroup, groupSettings, isGrouped, newGroup, servicesOf, withMember } from "./grouping";

const SETTLE_DELAY_MS = 2_000;
/**
 * While a group is open its object looks at its members' incidents in D1 this often: a member
 * whose resolve never reached the group (the group object was unreachable, or the member's alert
 * went out alone) is resolved from there, so a group cannot stay open after its last member.
 */
export const RECONCILE_MS = 5 * 60_000;
/** Resolved groups are kept this long (a late member event still finds its group). */
const KEEP_RESOLVED_MS = 24 * 60 * 60_000;

export class IncidentGroups extends DurableObject<Env> {
  private readonly rows: GroupRows;
  private readonly outbox: AlertOutbox;
  /** The key stored when the object first woke by name (group-key.ts); read when `ctx.id.name` is missing. */
  private storedKey: string | null = null;
  /**
   * The group key: the object's name, or the stored one (an alarm after an eviction may have no
   * name). A field, not a method: methods are on the prototype, callable over RPC.
   */
  private readonly keyOf = (): string | null => this.ctx.id.name ?? this.storedKey;
  /**
   * Sends the group openings that are due, publishes to D1 and runs the outbox at clock `now`, as
   * the alarm does without the `ALERTS_QUEUE` binding (given `queue`, it hands the alerts to it as
   * the alarm does with it). A field, not an RPC method: tests reach it through runInDurableObject.
   */
  readonly settleAt = (now: number, queue?: Queue<AlertHandOff>): Promise<number | null> => this.settle(now, queue);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.rows = new GroupRows(ctx.storage.sql);
    this.outbox = new AlertOutbox(
      ctx.storage.sql,
      () => env.DB,
      dashboardUrl(env),
      async () => undefined,
      { load: (id) => this.groupIncident(id) },
    );
    void ctx.blockConcurrencyWhile(async () => {
      for (const s of [...GROUP_SCHEMA, GROUP_KEY_SCHEMA, ...OUTBOX_SCHEMA]) ctx.storage.sql.exec(s);
      this.storedKey = rememberGroupKey(ctx.storage.sql, ctx.id.name);
    });
  }

  /** Records a change of the group and the group alert it calls for. */
  private commit(before: IncidentGroup | null, after: IncidentGroup, now: number): void {
    this.rows.save(after);
    const change = groupAlertFor(before, after);
    if (change) this.enqueue(after, change, now);
  }

  private enqueue(g: IncidentGroup, change: AlertChange, now: number): void {
    // A group of several services reaches every channel of any of them (see SERVICE_LIST_SEPARATOR).
    this.outbox.enqueue(
      { incident_id: g.id, event: change, severity: g.severity, service: servicesOf(g).join(SERVICE_LIST_SEPARATOR) },
      now,
    );
  }

  /** Adds the member (or its latest state) to its group, creating the group when none is open within the window. */
  private join(member: MemberInput, now: number): IncidentGroup {
    const settings = groupSettings(this.env);
    const before = this.rows.ofMember(member.incident_id) ?? findGroup(this.rows.open(), member, settings);
    const after = before ? withMember(before, member, now) : newGroup(member, now, settings);
    this.commit(before, after, now);
    return after;
  }

  /** An endpoint incident opened (not held by maintenance): it joins its service's group. */
  async memberOpened(member: MemberInput, now = Date.now()): Promise<string> {
    const g = this.ctx.storage.transactionSync(() => this.join(member, now));
    await this.wake();
    return g.id;
  }

  /**
   * Decides the member's own alert `change`: send it (alone, as today), skip it (its group's alert
   * carries it) or wait for the group's grace. Records the member's latest state either way.
   */
  async routeMemberAlert(member: MemberInput, change: AlertChange, now = Date.now()): Promise<RouteWire> {
    const route = this.ctx.storage.transactionSync(() => {
      // Only an opening joins a group; other changes of an incident that never joined go alone,
      // and so do the changes of a member after its group resolved (a re-opened endpoint).
      const known = this.rows.ofMember(member.incident_id);
      const alone: Route = { kind: "send" };
      if ((!known && change !== "incident.opened") || known?.status === "resolved") return alone;
      const g = this.join(member, now);
      const decided = routeMemberAlert(g, member.incident_id, change, now);
      if (decided.group !== g) this.rows.save(decided.group);
      // Members' reminders are skipped: the group reminds once for all of them.
      const minutes = config(this.env).ALERT_REMINDER_MINUTES;
      if (
        change === "incident.reminder" &&
        decided.route.kind === "skip" &&
        groupReminderDue(decided.group, this.outbox.lastAlertAt(g.id), minutes, now)
      ) {
        this.enqueue(decided.group, "incident.reminder", now);
      }
      return decided.route;
    });
    await this.wake();
    return toWire(route);
  }

  /** Whether the incident is a member of one of this object's groups. */
  async hasMember(incidentId: string): Promise<boolean> {
    return this.rows.ofMember(incidentId) !== null;
  }

  /** The group of a member, as the API shows it (for tests and the endpoint's detail). */
  async groupOf(incidentId: string): Promise<ReturnType<typeof toApiGroup> | null> {
    const g = this.rows.ofMember(incidentId);
    return g && isGrouped(g) ? toApiGroup(g) : null;
  }

  /**
   * The alarm does the work SETTLE_DELAY_MS after the first call since it last ran: the caller (an
   * endpoint's alarm) never waits for deliveries, and members of one outage that arrive together
   * (one hand-off opens several endpoints' incidents) are all in the group when it is looked at.
   * An alarm already due sooner is kept, so a burst of calls cannot postpone the work.
   */
  private async wake(): Promise<void> {
    const at = Date.now() + SETTLE_DELAY_MS;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    await this.settle(Date.now(), this.env.ALERTS_QUEUE);
  }

  /**
   * Claims a hand-off's group alert messages for the queue consumer (src/alerts/queue-consumer.ts;
   * see AlertOutbox.claim), with the group incident each carries (one D1 cannot give is left out:
   * its send comes back "not ready" and goes again shortly).
   */
  async claimAlerts(ids: string[], leaseUntil: number): Promise<ClaimedGroupAlerts> {
    const messages = await this.outbox.claim(ids, leaseUntil);
    const incidents: Record<string, string> = {};
    for (const id of new Set(messages.map((m) => m.incident_id))) {
      const incident = await this.groupIncident(id).catch(() => null);
      if (incident) incidents[id] = JSON.stringify(incident);
    }
    return { messages, incidents };
  }

  /** Records what the queue consumer's sends of claimed messages came to, and comes back when the outbox is next due. */
  async reportAlerts(reports: AlertReport[]): Promise<void> {
    const next = await this.outbox.report(reports);
    if (next !== null) await this.alarmBy(next);
  }

  /** Sets the alarm to `at` (at least a second from now) unless it is due sooner already. */
  private async alarmBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    const wanted = Math.max(Date.now() + 1000, at);
    if (current === null || current > wanted) await this.ctx.storage.setAlarm(wanted);
  }

  /**
   * Open members whose incident D1 shows resolved (the endpoint objects publish their incidents
   * there before alerting): resolved in the group too. A D1 failure leaves it to the next pass.
   */
  private async reconcile(now: number): Promise<void> {
    const open = this.rows.open();
    const ids = open.flatMap((g) => g.members.filter((m) => m.status === "open").map((m) => m.incident_id));
    if (ids.length === 0) return;
    let resolved: { id: string; resolved_at: number | null }[];
    try {
      resolved = await resolvedIncidents(this.env.DB, ids);
    } catch (err) {
      log("error", "incident_groups_reconcile_failed", { key: this.keyOf(), message: errorMessage(err) });
      return;
    }
    if (resolved.length === 0) return;
    const at = new Map(resolved.map((r) => [r.id, r.resolved_at ?? now]));
    this.ctx.storage.transactionSync(() => {
      for (const before of this.rows.open()) {
        let after = before;
        for (const m of before.members) {
          const resolvedAt = at.get(m.incident_id);
          if (m.status === "open" && resolvedAt !== undefined)
            after = withMember(after, { ...m, status: "resolved", resolved_at: resolvedAt }, now);
        }
        if (after !== before) {
          log("info", "incident_group_member_reconciled", { group: before.id, status: after.status });
          this.commit(before, after, now);
        }
      }
    });
  }

  /** Opens due groups, publishes changed groups, sends alerts; returns when to come back. */
  private async settle(now: number, queue: Queue<AlertHandOff> | undefined): Promise<number | null> {
    await this.reconcile(now);
    const pendingHolds = this.ctx.storage.transactionSync(() => {
      let soonest: number | null = null;
      for (const g of this.rows.open().concat(this.rows.resolvedUnannounced())) {
        if (groupOpenDue(g, now)) {
          const opened: IncidentGroup = { ...g, alert: "group", dedup_key: g.dedup_key || g.id, updated_at: now };
          this.rows.save(opened);
          this.enqueue(opened, "incident.opened", now);
          if (opened.status === "resolved") this.enqueue(opened, "incident.resolved", now);
        } else if (isGrouped(g) && g.alert === "none")
          soonest = soonest === null ? g.hold_until : Math.min(soonest, g.hold_until);
      }
      this.rows.dropResolved(now - KEEP_RESOLVED_MS);
      return soonest;
    });
    let published = true;
    try {
      await this.publish(now);
    } catch (err) {
      published = false;
      log("error", "incident_groups_publish_failed", { service: this.keyOf(), message: errorMessage(err) });
    }
    // Messages carry the lead incident from D1: send once the groups are published.
    const key = this.keyOf();
    const alertsAt = published
      ? await handOffAlerts(this.outbox, queue, key === null ? null : groupTarget(key), now)
      : now + 5_000;
    const reconcileAt = this.rows.open().length > 0 ? now + RECONCILE_MS : null;
    const next = [pendingHolds, alertsAt, reconcileAt].filter((t): t is number => t !== null);
    const at = next.length > 0 ? Math.min(...next) : null;
    if (at !== null) await this.alarmBy(at);
    return at;
  }

  private async publish(now: number): Promise<void> {
    const dirty = this.rows.dirty();
    if (dirty.length === 0) return;
    await publishGroups(this.env.DB, dirty.map((d) => d.group).filter(isGrouped), now);
    for (const d of dirty) this.rows.published(d.body);
  }

  /** What a group alert carries: the first member's incident with the group's state and members. */
  private async groupIncident(groupId: string): Promise<ApiIncident | null> {
    const g = this.rows.load(groupId);
    return g ? groupAlertIncident(this.env.DB, g) : null;
  }
}

/**
 * A group's hand-off `{kind: "group", key, messages, lease_until}`. Its alerts wait for no AI
 * summary (the lead incident's came with its own alert).
 */
function groupTarget(key: string): HandOffTarget {
  return {
    fields: { group: key },
    summarize: false,
    body: (messages, leaseUntil) => ({ kind: "group", key, messages, lease_until: leaseUntil }),
    onRefused: async () => undefined,
  };
}
