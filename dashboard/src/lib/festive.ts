// Marketplace sale windows to shade on charts (IST calendar days, inclusive). The API has no
// calendar endpoint; these mirror the simulator's festive calendar (src/resight/simulator/data.py).
export type FestiveWindow = { name: string; start: string; end: string; platforms: string[] };

export const FESTIVE_WINDOWS: FestiveWindow[] = [
  { name: "Republic Day sale", start: "2025-01-17", end: "2025-01-21", platforms: [] },
  { name: "End of Reason Sale (summer)", start: "2025-06-13", end: "2025-06-18", platforms: ["myntra"] },
  { name: "Prime Day", start: "2025-07-12", end: "2025-07-14", platforms: ["amazon"] },
  { name: "Mega Blockbuster Sale", start: "2025-09-19", end: "2025-09-27", platforms: ["meesho"] },
  { name: "Big Fashion Festival", start: "2025-09-22", end: "2025-10-02", platforms: ["myntra"] },
  { name: "Great Indian Festival", start: "2025-09-23", end: "2025-10-16", platforms: ["amazon"] },
  { name: "Diwali week", start: "2025-10-14", end: "2025-10-20", platforms: [] },
  { name: "End of Reason Sale (winter)", start: "2025-12-12", end: "2025-12-16", platforms: ["myntra"] },
  { name: "Republic Day sale", start: "2026-01-16", end: "2026-01-20", platforms: [] },
  { name: "End of Reason Sale (summer)", start: "2026-06-12", end: "2026-06-17", platforms: ["myntra"] },
  { name: "Prime Day", start: "2026-07-11", end: "2026-07-13", platforms: ["amazon"] },
  { name: "Independence Day sale", start: "2026-08-07", end: "2026-08-11", platforms: [] },
  { name: "Mega Blockbuster Sale", start: "2026-09-30", end: "2026-10-07", platforms: ["meesho"] },
  { name: "Big Fashion Festival", start: "2026-10-02", end: "2026-10-11", platforms: ["myntra"] },
  { name: "Great Indian Festival", start: "2026-10-01", end: "2026-10-22", platforms: ["amazon"] },
  { name: "Diwali week", start: "2026-11-02", end: "2026-11-08", platforms: [] },
  { name: "Black Friday weekend", start: "2026-11-27", end: "2026-11-30", platforms: ["amazon", "myntra"] },
  { name: "End of Reason Sale (winter)", start: "2026-12-11", end: "2026-12-15", platforms: ["myntra"] },
  { name: "Republic Day sale", start: "2027-01-15", end: "2027-01-19", platforms: [] },
];

const IST_OFFSET_MS = 330 * 60_000;

/** The IST calendar day (YYYY-MM-DD) of a UTC instant. */
export function istDay(iso: string): string {
  return new Date(new Date(iso).getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}

/** Runs of consecutive buckets that fall in a festive window for the marketplace ("" = any). */
export function festiveBands(
  bucketStarts: string[],
  marketplace: string,
  windows: FestiveWindow[] = FESTIVE_WINDOWS,
): { start: number; end: number; label: string }[] {
  const relevant = windows.filter(
    (w) => !marketplace || w.platforms.length === 0 || w.platforms.includes(marketplace),
  );
  const bands: { start: number; end: number; label: string }[] = [];
  bucketStarts.forEach((iso, index) => {
    const day = istDay(iso);
    const names = relevant.filter((w) => w.start <= day && day <= w.end).map((w) => w.name);
    if (names.length === 0) return;
    const label = names.join(" · ");
    const last = bands[bands.length - 1];
    if (last && last.end === index - 1 && last.label === label) last.end = index;
    else bands.push({ start: index, end: index, label });
  });
  return bands;
}
