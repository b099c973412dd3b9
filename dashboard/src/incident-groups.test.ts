import { describe, expect, it } from "vitest";
import { foldGroups, groupLabel } from "./incident-groups";
import type { Incident, IncidentGroup } from "../../src/api-types";

const incident = (id: string, group_id: string | null): Incident =>
  ({
    id,
    group_id,
    service: "shop",
    method: "GET",
    route: `/${id}`,
    severity: "WARNING",
    status: "open",
    opened_at: 0,
  }) as Incident;
const group = (id: string, members: string[], origin_down = false): IncidentGroup => ({
  id,
  service: "shop",
  status: "open",
  severity: "CRITICAL",
  origin_down,
  opened_at: 0,
  resolved_at: null,
  explanation: "",
  members: members.map((m) => ({
    incident_id: m,
    method: "GET",
    route: `/${m}`,
    severity: "WARNING",
    status: "open",
    opened_at: 0,
    resolved_at: null,
  })),
});

describe("foldGroups", () => {
  it("shows a group once, at its newest member, with its members; other incidents stay as they are", () => {
    const list = [
      incident("a", null),
      incident("b", "g1"),
      incident("c", "g1"),
      incident("d", null),
      incident("e", "g1"),
    ];
    const entries = foldGroups(list, [group("g1", ["b", "c", "e"])]);
    expect(
      entries.map((e) =>
        e.kind === "group" ? `group:${e.group.id}:${e.members.map((m) => m.id).join("")}` : e.incident.id,
      ),
    ).toEqual(["a", "group:g1:bce", "d"]);
  });

  it("keeps an incident whose group is not in the answer as a plain row", () => {
    expect(foldGroups([incident("a", "gone")], []).map((e) => e.kind)).toEqual(["incident"]);
  });

  it("labels a group with its service, size and origin down", () => {
    expect(groupLabel(group("g", ["a", "b"], true))).toBe("shop: 2 endpoints (origin down)");
    expect(groupLabel(group("g", ["a", "b", "c"]))).toBe("shop: 3 endpoints");
  });

  it("labels a group of several services behind one origin with the origin and the services", () => {
    expect(groupLabel({ ...group("g", ["a", "b"], true), services: ["shop", "cart"], origin: "api.example.com" })).toBe(
      "origin api.example.com: 2 endpoints of shop, cart (origin down)",
    );
    expect(groupLabel({ ...group("g", ["a", "b"]), services: ["shop"], origin: "api.example.com" })).toBe(
      "shop: 2 endpoints",
    );
  });
});
