/**
 * `GET /v1/auth/role` (read key): which scope the presented key has, `read` or `admin`, so the
 * dashboard can tell them apart at sign-in without an admin-only request failing with a 401 in
 * the browser console for a read key. A wrong key is a 401 as everywhere.
 */
import { Hono } from "hono";
import * as z from "zod";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { keysFor, matchesAnyKey } from "./keys";

export const authApp = new Hono<AppEnv>();

defineRoute(
  authApp,
  {
    method: "GET",
    path: "/role",
    key: "read",
    tag: "Health",
    summary: "The scope of the presented key: read or admin (the dashboard's sign-in asks this)",
    responses: { 200: { description: "the role", schema: z.object({ role: z.enum(["read", "admin"]) }) } },
  },
  async (c) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("Authorization") ?? "")?.[1] ?? "";
    const admin = keysFor(c.env, "admin").keys;
    return c.json({ role: admin.length > 0 && (await matchesAnyKey(token, admin)) ? "admin" : "read" });
  },
);
