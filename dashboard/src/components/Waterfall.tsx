import type { Schemas } from "../api/client";
import { scaleLinear } from "../lib/chart";

type Explain = Schemas["ExplainOut"];
type Row = { label: string; value: string; start: number; end: number; kind: "base" | "up" | "down" | "total" };

export function formatFeatureValue(value: number | string | null): string {
  if (value === null) return "missing";
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return value.toLocaleString("en-IN");
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Rows of a SHAP waterfall: base value, the `top` largest contributions (each with its feature's
 * value), the rest folded into one row, and the output. Cumulative, so the bars add up. */
export function waterfallRows(explain: Explain, top = 10): Row[] {
  const sorted = [...explain.contributions].sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap));
  const shown = sorted.slice(0, top);
  const rest = sorted.slice(top);
  const rows: Row[] = [
    { label: "Base value (average product)", value: "", start: 0, end: explain.base_value, kind: "base" },
  ];
  let at = explain.base_value;
  for (const c of shown) {
    rows.push({
      label: c.label,
      value: formatFeatureValue(c.value),
      start: at,
      end: at + c.shap,
      kind: c.shap >= 0 ? "up" : "down",
    });
    at += c.shap;
  }
  if (rest.length) {
    const sum = rest.reduce((total, c) => total + c.shap, 0);
    rows.push({
      label: `${rest.length} other features`,
      value: "",
      start: at,
      end: at + sum,
      kind: sum >= 0 ? "up" : "down",
    });
    at += sum;
  }
  rows.push({ label: "Model output", value: "", start: 0, end: at, kind: "total" });
  return rows;
}

export function Waterfall({ explain }: { explain: Explain }) {
  const rows = waterfallRows(explain);
  const values = rows.flatMap((row) => [row.start, row.end]);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const rowHeight = 30;
  const labelWidth = 300;
  const width = 860;
  const height = rows.length * rowHeight + 8;
  const x = scaleLinear(min, max, labelWidth + 10, width - 70);
  return (
    <figure className="waterfall">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="waterfall-caption">
        <line className="chart-grid" x1={x(0)} x2={x(0)} y1={0} y2={height} />
        {rows.map((row, i) => {
          const y = i * rowHeight + 4;
          const left = Math.min(x(row.start), x(row.end));
          const barWidth = Math.max(2, Math.abs(x(row.end) - x(row.start)));
          const delta = row.end - row.start;
          return (
            <g key={`${row.label}-${i}`} className={`wf-row wf-${row.kind}`}>
              <text x={0} y={y + 19} className="wf-label">
                {row.label}
                {row.value ? <tspan className="wf-value"> = {row.value}</tspan> : null}
              </text>
              <rect x={left} y={y + 5} width={barWidth} height={rowHeight - 10} rx="3" />
              <text
                x={Math.max(x(row.start), x(row.end)) + 6}
                y={y + 19}
                className="wf-number"
              >
                {row.kind === "base" || row.kind === "total"
                  ? row.end.toFixed(3)
                  : `${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(3)}`}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption id="waterfall-caption" className="muted small">
        From the base value {explain.base_value.toFixed(3)} to the output {explain.output.toFixed(3)} (
        {explain.output_space.replaceAll("_", " ")}; {explain.expected_orders.toFixed(2)} expected orders in
        the next 24 h). Green pushes the score up, red pulls it down; model {explain.model_version}.
      </figcaption>
    </figure>
  );
}
