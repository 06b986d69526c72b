import { describe, expect, it } from "vitest";
import { headlineMetrics } from "./Models";

describe("model metrics", () => {
  it("picks NDCG@k and Spearman, rounded, skipping the rest", () => {
    expect(
      headlineMetrics({ ndcg_at_100: 0.91234, spearman: 0.8766, train_rows: 500, serving_model: {}, x: Number.NaN }),
    ).toEqual([
      ["NDCG@100", "0.912"],
      ["Spearman", "0.877"],
    ]);
  });
});
