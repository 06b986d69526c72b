// Pure helpers for the hand-rolled SVG charts (no chart library: a few KB instead of hundreds).

/** Round tick values covering [min, max]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (min === max) {
    if (min === 0) return [0, 1];
    return min > 0 ? niceTicks(0, min, count) : niceTicks(min, 0, count);
  }
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let value = start; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(Number((start + ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Maps [d0, d1] onto [r0, r1]; a flat domain maps to the middle of the range. */
export function scaleLinear(d0: number, d1: number, r0: number, r1: number): (value: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
}

/** An SVG path through the points, skipping gaps (null values). */
export function linePath(values: (number | null)[], x: (i: number) => number, y: (v: number) => number): string {
  let path = "";
  let pen = false;
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      pen = false;
      return;
    }
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
    pen = true;
  });
  return path;
}

/** The index of the point nearest to a horizontal position. */
export function nearestIndex(position: number, count: number, x: (i: number) => number): number {
  if (count <= 1) return 0;
  const step = x(1) - x(0);
  const index = Math.round((position - x(0)) / step);
  return Math.min(count - 1, Math.max(0, index));
}
