// Score and rank history: the API keeps change points (a point when the rank or score moved, and
// one a day), so a value holds from its point until the next one: the chart draws steps.
import { niceTicks } from "./chart";
import { formatISTDay, formatISTTime } from "./format";

export type HistoryPoint = { computed_at: string; score: number; rank: number | null };

export type Timeline = { times: number[]; scores: number[]; ranks: (number | null)[] };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const IST_OFFSET = 330 * MINUTE;
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

/** Pages arrive newest first; charts read oldest first, one point per time. */
export function toTimeline(points: readonly HistoryPoint[]): Timeline {
  const byTime = new Map<number, HistoryPoint>();
  for (const point of points) {
    const time = Date.parse(point.computed_at);
    if (Number.isFinite(time)) byTime.set(time, point);
  }
  const times = [...byTime.keys()].sort((a, b) => a - b);
  return {
    times,
    scores: times.map((t) => byTime.get(t)!.score),
    ranks: times.map((t) => byTime.get(t)!.rank),
  };
}

/** A step path: each value holds until the next point, the last one until `end`; a null value
 * (not ranked) leaves a gap. */
export function stepPath(
  times: readonly number[],
  values: readonly (number | null)[],
  end: number,
  x: (time: number) => number,
  y: (value: number) => number,
): string {
  let path = "";
  times.forEach((time, i) => {
    const value = values[i];
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    const until = i + 1 < times.length ? times[i + 1]! : Math.max(end, time);
    const level = y(value).toFixed(1);
    path += `M${x(time).toFixed(1)},${level}H${x(until).toFixed(1)}`;
  });
  return path;
}

/** Rank ticks from the best (drawn on top) to the worst rank shown: round steps, never below 1. */
export function rankTicks(ranks: readonly (number | null)[]): number[] {
  const known = ranks.filter((r): r is number => r !== null && Number.isFinite(r));
  if (known.length === 0) return [1];
  const best = Math.min(...known);
  const worst = Math.max(...known);
  if (best === worst) return best === 1 ? [1, 2] : [Math.max(1, best - 1), best, best + 1];
  const ticks = niceTicks(best, worst, 4).map((t) => Math.max(1, t));
  return [...new Set(ticks)];
}

/** Times for the x axis on round IST boundaries, labelled in IST: clock times within a day or
 * two, dates beyond. */
export function timeTicks(start: number, end: number, count = 6): { at: number; label: string }[] {
  if (!(end > start)) return [];
  const span = end - start;
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const first = Math.ceil((start + IST_OFFSET) / step) * step - IST_OFFSET;
  const ticks: { at: number; label: string }[] = [];
  for (let at = first; at <= end; at += step) {
    const date = new Date(at);
    ticks.push({ at, label: step < DAY ? formatISTTime(date) : formatISTDay(date) });
  }
  return ticks;
}

/** Where the time axis starts: the window's start, or shortly before the first point when the
 * history is younger than the window (a week-wide axis would squeeze it against the right edge). */
export function chartStart(times: readonly number[], windowStart: number, end: number): number {
  const first = times[0];
  if (first === undefined || first <= windowStart) return windowStart;
  const margin = Math.max(MINUTE, (end - first) * 0.05);
  return Math.max(windowStart, first - margin);
}

/** Index of the point in effect at `time` (the last one at or before it), or -1. */
export function pointAt(times: readonly number[], time: number): number {
  let low = 0;
  let high = times.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (times[mid]! <= time) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}
