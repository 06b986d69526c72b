import { describe, expect, it } from "vitest";
import { festiveBands, istDay } from "./festive";

describe("festive bands", () => {
  it("reads the IST day of a UTC instant", () => {
    expect(istDay("2026-11-01T18:29:00Z")).toBe("2026-11-01");
    expect(istDay("2026-11-01T18:30:00Z")).toBe("2026-11-02");
  });

  it("shades consecutive buckets in a window, per marketplace", () => {
    const days = ["2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-09"].map(
      (d) => `${d}T00:00:00+05:30`,
    );
    expect(festiveBands(days, "")).toEqual([{ start: 2, end: 3, label: "Diwali week" }]);
    const windows = [{ name: "Prime Day", start: "2026-11-01", end: "2026-11-01", platforms: ["amazon"] }];
    expect(festiveBands(days, "myntra", windows)).toEqual([]);
    expect(festiveBands(days, "amazon", windows)).toEqual([{ start: 1, end: 1, label: "Prime Day" }]);
  });
});
