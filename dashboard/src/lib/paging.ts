// Cursor paging with "previous": the server hands out next cursors only, so the client keeps the
// cursors of the pages it has seen.
export type CursorTrail = readonly (string | null)[];

export const FIRST_PAGE: CursorTrail = [null];

export function currentCursor(trail: CursorTrail): string | null {
  return trail[trail.length - 1] ?? null;
}

export function nextTrail(trail: CursorTrail, next: string | null | undefined): CursorTrail {
  return next ? [...trail, next] : trail;
}

export function previousTrail(trail: CursorTrail): CursorTrail {
  return trail.length > 1 ? trail.slice(0, -1) : trail;
}

export function pageNumber(trail: CursorTrail): number {
  return trail.length;
}
