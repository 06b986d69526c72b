import { describe, expect, it } from "vitest";
import { formatFeatureValue, waterfallRows } from "./Waterfall";

const explain = {
  item_id: 1,
  model_version: "v1",
  base_value: 0.5,
  output: 0.5 + 0.3 - 0.2 + 0.05 + 0.01 - 0.02,
  output_space: "log_expected_orders",
  expected_orders: 1.9,
  contributions: [
    { feature: "price", label: "Price (₹)", value: 1299, shap: -0.2 },
    { feature: "views_24h", label: "Views, 24 h", value: 340, shap: 0.3 },
    { feature: "rating", label: "Rating", value: 4.25, shap: 0.05 },
    { feature: "brand", label: "Brand", value: "Biba", shap: 0.01 },
    { feature: "hour", label: "IST hour", value: null, shap: -0.02 },
  ],
};

describe("SHAP waterfall", () => {
  it("runs from the base value to the output, largest contributions first", () => {
    const rows = waterfallRows(explain, 3);
    expect(rows.map((r) => r.label)).toEqual([
      "Base value (average product)",
      "Views, 24 h",
      "Price (₹)",
      "Rating",
      "2 other features",
      "Model output",
    ]);
    expect(rows[1]).toMatchObject({ start: 0.5, kind: "up" });
    expect(rows[2]!.kind).toBe("down");
    expect(rows[4]!.end - rows[4]!.start).toBeCloseTo(-0.01, 10);
    expect(rows[rows.length - 1]!.end).toBeCloseTo(explain.output, 10);
    expect(rows[1]!.value).toBe("340");
  });
  it("shows each feature's value beside its label", () => {
    expect(formatFeatureValue(null)).toBe("missing");
    expect(formatFeatureValue("Biba")).toBe("Biba");
    expect(formatFeatureValue(4.25)).toBe("4.25");
    expect(formatFeatureValue(123456)).toBe("1,23,456");
  });
});
