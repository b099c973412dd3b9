/**
 * The zod schema of a group as its IncidentGroups object stores it (group-rows.ts), mirroring
 * group-types.ts field for field (see src/lib/stored-schema.ts). `services` and `origin` (groups
 * per origin host) and a member's `origin` came later: optional in the types, so groups stored
 * before them parse.
 */
import * as z from "zod";
import { SeveritySchema as severity, StatusSchema as status } from "../detect/incident-schema";
import { shapeOf, storedNumber } from "../lib/stored-schema";
import type { GroupMember, IncidentGroup } from "./group-types";

const GroupMemberSchema: z.ZodType<GroupMember> = z.looseObject(
  shapeOf<GroupMember>()({
    incident_id: z.string(),
    service: z.string(),
    method: z.string(),
    route: z.string(),
    severity,
    status,
    opened_at: storedNumber,
    resolved_at: storedNumber.nullable(),
    signal_kinds: z.array(z.string()),
    origin: z.string().nullable().optional(),
    joined_at: storedNumber,
    alerted_alone: z.boolean(),
  }),
);

/** A group as its Durable Object stores it. */
export const IncidentGroupSchema: z.ZodType<IncidentGroup> = z.looseObject(
  shapeOf<IncidentGroup>()({
    id: z.string(),
    service: z.string(),
    services: z.array(z.string()).optional(),
    origin: z.string().nullable().optional(),
    status,
    opened_at: storedNumber,
    resolved_at: storedNumber.nullable(),
    hold_until: storedNumber,
    severity,
    origin_down: z.boolean(),
    alert: z.enum(["none", "lead", "group"]),
    dedup_key: z.string(),
    members: z.array(GroupMemberSchema),
    updated_at: storedNumber,
  }),
);
