import { describe, expect, it } from "vitest";
import { findConflicts, type RuleLike } from "./conflicts";

const rule = (id: number, over: Partial<RuleLike>): RuleLike => ({
  id,
  kind: "pin",
  scope: "product",
  scope_value: String(id),
  position: 1,
  priority: 0,
  enabled: true,
  ...over,
});

describe("rule conflicts", () => {
  it("flags two pins at one position, and a pin and a remove on one product", () => {
    const notes = findConflicts([
      rule(1, {}),
      rule(2, { scope_value: "9" }),
      rule(3, { position: 4 }),
      rule(4, { kind: "remove", scope_value: "3", position: null }),
    ]);
    expect(notes.get(1)).toEqual(["Also pinned at position 1: #2"]);
    expect(notes.get(2)).toEqual(["Also pinned at position 1: #1"]);
    expect(notes.get(3)).toEqual(["Rule #4 removes the same product"]);
    expect(notes.get(4)).toEqual(["Rule #3 pins the same product"]);
  });
  it("ignores disabled rules and opposite rules on different targets", () => {
    const notes = findConflicts([
      rule(1, {}),
      rule(2, { enabled: false }),
      rule(3, { kind: "boost", scope: "brand", scope_value: "Biba", position: null }),
      rule(4, { kind: "demote", scope: "brand", scope_value: "Noise", position: null }),
    ]);
    expect(notes.size).toBe(0);
  });
  it("flags a boost and a demote on the same brand", () => {
    const notes = findConflicts([
      rule(3, { kind: "boost", scope: "brand", scope_value: "Biba", position: null }),
      rule(4, { kind: "demote", scope: "brand", scope_value: "Biba", position: null }),
    ]);
    expect(notes.get(3)).toEqual(["Rule #4 demotes the same brand"]);
  });
});
