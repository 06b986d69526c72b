import { describe, expect, it } from "vitest";
import { chartStart, pointAt, rankTicks, stepPath, timeTicks, toTimeline } from "./history";

describe("toTimeline", () => {
  it("turns newest-first pages into one oldest-first series, one point per time", () => {
    const timeline = toTimeline([
      { computed_at: "2026-11-20T06:02:00Z", score: 3, rank: 1 },
      { computed_at: "2026-11-20T06:01:00Z", score: 2, rank: null },
      { computed_at: "2026-11-20T06:00:00Z", score: 1, rank: 4 },
      { computed_at: "2026-11-20T06:01:00Z", score: 2, rank: null },
    ]);
    expect(timeline.times).toEqual([Date.UTC(2026, 10, 20, 6, 0), Date.UTC(2026, 10, 20, 6, 1), Date.UTC(2026, 10, 20, 6, 2)]);
    expect(timeline.scores).toEqual([1, 2, 3]);
    expect(timeline.ranks).toEqual([4, null, 1]);
  });
});

describe("stepPath", () => {
  const x = (t: number) => t;
  const y = (v: number) => v * 10;
  it("holds each value until the next point and the last one until the end", () => {
    expect(stepPath([0, 5, 8], [1, 2, 3], 12, x, y)).toBe("M0.0,10.0H5.0M5.0,20.0H8.0M8.0,30.0H12.0");
  });
  it("leaves a gap while the product is not ranked", () => {
    expect(stepPath([0, 5, 8], [1, null, 3], 8, x, y)).toBe("M0.0,10.0H5.0M8.0,30.0H8.0");
  });
});

describe("rankTicks", () => {
  it("gives round ranks from the best to the worst, never below 1", () => {
    expect(rankTicks([3, 87, null])).toEqual([1, 50, 100]);
    expect(rankTicks([120, 180])).toEqual([120, 140, 160, 180]);
  });
  it("frames a single rank", () => {
    expect(rankTicks([1])).toEqual([1, 2]);
    expect(rankTicks([5, 5])).toEqual([4, 5, 6]);
    expect(rankTicks([null])).toEqual([1]);
  });
});

describe("timeTicks", () => {
  it("labels IST clock times on round IST hours within a day", () => {
    const start = Date.UTC(2026, 10, 20, 0, 10); // 05:40 IST
    const ticks = timeTicks(start, start + 12 * 3_600_000, 6);
    expect(ticks[0]!.label).toBe("06:00");
    expect(ticks.map((t) => t.label)).toEqual(["06:00", "09:00", "12:00", "15:00"]);
    expect(ticks[0]!.at).toBe(Date.UTC(2026, 10, 20, 0, 30));
  });
  it("labels IST dates across days, starting at IST midnight", () => {
    const start = Date.UTC(2026, 10, 20, 20, 0); // 21 Nov, 01:30 IST
    const ticks = timeTicks(start, start + 7 * 86_400_000, 7);
    expect(ticks[0]).toEqual({ at: Date.UTC(2026, 10, 21, 18, 30), label: "22 Nov" });
    expect(ticks).toHaveLength(7);
  });
  it("gives nothing for an empty span", () => {
    expect(timeTicks(5, 5)).toEqual([]);
  });
});

describe("pointAt", () => {
  it("finds the point in effect at a time", () => {
    expect(pointAt([10, 20, 30], 5)).toBe(-1);
    expect(pointAt([10, 20, 30], 20)).toBe(1);
    expect(pointAt([10, 20, 30], 29)).toBe(1);
    expect(pointAt([10, 20, 30], 99)).toBe(2);
  });
});

describe("chartStart", () => {
  const minute = 60_000;
  it("starts at the window when the history fills it", () => {
    expect(chartStart([0, 50 * minute], 10 * minute, 100 * minute)).toBe(10 * minute);
    expect(chartStart([], 10 * minute, 100 * minute)).toBe(10 * minute);
  });
  it("starts just before the first point of a younger history", () => {
    expect(chartStart([80 * minute], 0, 100 * minute)).toBe(79 * minute);
    expect(chartStart([99 * minute], 0, 100 * minute)).toBe(98 * minute);
  });
});
