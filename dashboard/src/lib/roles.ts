import type { Role } from "../api/client";

const LEVEL: Record<Role, number> = { viewer: 0, merchandiser: 1, admin: 2 };

/** Mirrors the server's Role.allows: what a role may not do is not offered. */
export function allows(role: Role | undefined, minimum: Role): boolean {
  return role !== undefined && LEVEL[role] >= LEVEL[minimum];
}

export const ROLE_LABEL: Record<Role, string> = {
  viewer: "Viewer",
  merchandiser: "Merchandiser",
  admin: "Admin",
};
