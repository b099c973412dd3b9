/**
 * The key the user signed in with, kept in session storage (gone when the tab closes, never in
 * local storage or a cookie), and whether it is the admin key (the settings need it).
 */

const STORAGE = "edge-monitor.key";

export type Role = "read" | "admin";

export interface Session {
  key: string;
  role: Role;
}

function storage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

/** The stored session, if any. */
export function getSession(): Session | null {
  const raw = storage()?.getItem(STORAGE);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.key === "string" && (s.role === "read" || s.role === "admin") ? { key: s.key, role: s.role } : null;
  } catch {
    return null;
  }
}

export function getKey(): string | null {
  return getSession()?.key ?? null;
}

export function saveSession(session: Session): void {
  storage()?.setItem(STORAGE, JSON.stringify(session));
}

export function clearSession(): void {
  storage()?.removeItem(STORAGE);
}
