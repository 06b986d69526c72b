import { describe, expect, it } from "vitest";
import { priceBounds } from "./WhatIf";

describe("what-if slider bounds", () => {
  it("spans half to one and a half times the price, in sensible steps", () => {
    expect(priceBounds(1989)).toEqual({ min: 994, max: 2984, step: 10 });
    expect(priceBounds(499)).toEqual({ min: 249, max: 749, step: 1 });
    expect(priceBounds(1).min).toBe(1);
    expect(priceBounds(1).max).toBeGreaterThan(1);
  });
});
