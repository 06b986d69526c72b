import { describe, expect, it } from "vitest";
import { linePath, nearestIndex, niceTicks, scaleLinear } from "./chart";

describe("niceTicks", () => {
  it("covers the range with round steps", () => {
    expect(niceTicks(0, 100, 4)).toEqual([0, 50, 100]);
    expect(niceTicks(0, 87_000, 4)).toEqual([0, 50_000, 100_000]);
    expect(niceTicks(0, 87_000, 6)).toEqual([0, 20_000, 40_000, 60_000, 80_000, 100_000]);
    expect(niceTicks(0, 0.043, 4)).toEqual([0, 0.02, 0.04, 0.06]);
  });
  it("handles flat and empty data", () => {
    expect(niceTicks(0, 0)).toEqual([0, 1]);
    expect(niceTicks(5, 5)[0]).toBe(0);
    expect(niceTicks(Number.NaN, 1)).toEqual([0]);
  });
});

describe("scales and paths", () => {
  it("maps domains onto ranges, inverted for SVG's y axis", () => {
    const y = scaleLinear(0, 100, 200, 0);
    expect(y(0)).toBe(200);
    expect(y(50)).toBe(100);
    expect(scaleLinear(3, 3, 0, 10)(3)).toBe(5);
  });
  it("draws lines with gaps for missing values", () => {
    const x = (i: number) => i * 10;
    const y = (v: number) => v;
    expect(linePath([1, 2, null, 4], x, y)).toBe("M0.0,1.0L10.0,2.0M30.0,4.0");
  });
  it("finds the nearest point to the pointer", () => {
    const x = (i: number) => 20 + i * 10;
    expect(nearestIndex(0, 5, x)).toBe(0);
    expect(nearestIndex(34, 5, x)).toBe(1);
    expect(nearestIndex(36, 5, x)).toBe(2);
    expect(nearestIndex(999, 5, x)).toBe(4);
  });
});
