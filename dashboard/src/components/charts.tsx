import { type Dispatch, type KeyboardEvent, type PointerEvent, type SetStateAction, useId, useRef, useState } from "react";
import { linePath, nearestIndex, niceTicks, scaleLinear } from "../lib/chart";

export function Sparkline({
  values,
  tone = "accent",
  width = 110,
  height = 36,
}: {
  values: (number | null)[];
  tone?: "accent" | "good" | "bad";
  width?: number;
  height?: number;
}) {
  const id = useId();
  const numbers = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (numbers.length < 2) return <svg width={width} height={height} aria-hidden="true" />;
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  const x = scaleLinear(0, values.length - 1, 1, width - 1);
  const y = scaleLinear(min, max === min ? min + 1 : max, height - 3, 3);
  const line = linePath(values, x, y);
  const area = `${line}L${x(values.length - 1).toFixed(1)},${height}L${x(0).toFixed(1)},${height}Z`;
  return (
    <svg className={`spark spark-${tone}`} width={width} height={height} aria-hidden="true">
      <defs>
        <linearGradient id={id} x1="0" y1="0" x2="0" y2="1">
          <stop offset="0" stopColor="currentColor" stopOpacity="0.22" />
          <stop offset="1" stopColor="currentColor" stopOpacity="0" />
        </linearGradient>
      </defs>
      {numbers.length === values.length ? <path d={area} fill={`url(#${id})`} /> : null}
      <path d={line} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round" />
    </svg>
  );
}

export type Series = {
  key: string;
  label: string;
  values: (number | null)[];
  format: (value: number) => string;
  kind: "area" | "line";
  color: string;
};

export type Band = { start: number; end: number; label: string };
export type Marker = { index: number; label: string; color: string };

/** Two series on their own axes (left: the first, right: the second), shared x labels, shaded
 * bands (e.g. festive windows), a pointer/keyboard crosshair with a tooltip. */
export function DualAxisChart({
  labels,
  series,
  bands = [],
  markers = [],
  height = 260,
  title,
}: {
  labels: string[];
  series: [Series, Series];
  bands?: Band[];
  markers?: Marker[];
  height?: number;
  title: string;
}) {
  const [active, setActive] = useState<number | null>(null);
  const box = useRef<SVGSVGElement>(null);
  const width = 880;
  const pad = { top: 14, right: 64, bottom: 28, left: 64 };
  const count = labels.length;
  const x = scaleLinear(0, Math.max(1, count - 1), pad.left, width - pad.right);
  const axes = series.map((s) => {
    const numbers = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
    const ticks = niceTicks(Math.min(0, ...numbers), Math.max(0, ...numbers), 4);
    const y = scaleLinear(ticks[0] ?? 0, ticks[ticks.length - 1] ?? 1, height - pad.bottom, pad.top);
    return { ticks, y };
  });
  const left = axes[0]!;
  const right = axes[1]!;
  const every = Math.max(1, Math.ceil(count / 8));

  const move = (event: PointerEvent<SVGSVGElement>) => {
    const rect = box.current?.getBoundingClientRect();
    if (!rect || count === 0) return;
    const position = ((event.clientX - rect.left) / rect.width) * width;
    setActive(nearestIndex(position, count, x));
  };
  const key = readWithKeys(count, setActive);

  const tooltipLeft = active !== null ? (x(active) / width) * 100 : 0;
  return (
    <div className="chart">
      <div className="chart-legend" aria-hidden="true">
        {series.map((s) => (
          <span key={s.key}>
            <i className="legend-swatch" style={{ background: s.color }} />
            {s.label}
          </span>
        ))}
        {bands.length ? (
          <span>
            <i className="legend-swatch legend-band" />
            Festive window
          </span>
        ) : null}
      </div>
      <svg
        ref={box}
        className="chart-svg"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}. Use the arrow keys to read values.`}
        tabIndex={0}
        onPointerMove={move}
        onPointerLeave={() => setActive(null)}
        onKeyDown={key}
        onBlur={() => setActive(null)}
      >
        {bands.map((band) => (
          <rect
            key={`${band.start}-${band.label}`}
            className="chart-band"
            x={x(band.start) - 2}
            y={pad.top}
            width={Math.max(4, x(band.end) - x(band.start) + 4)}
            height={height - pad.top - pad.bottom}
          >
            <title>{band.label}</title>
          </rect>
        ))}
        {left.ticks.map((tick) => (
          <g key={`l${tick}`}>
            <line className="chart-grid" x1={pad.left} x2={width - pad.right} y1={left.y(tick)} y2={left.y(tick)} />
            <text className="chart-tick" x={pad.left - 8} y={left.y(tick) + 4} textAnchor="end">
              {series[0].format(tick)}
            </text>
          </g>
        ))}
        {right.ticks.map((tick) => (
          <text key={`r${tick}`} className="chart-tick" x={width - pad.right + 8} y={right.y(tick) + 4}>
            {series[1].format(tick)}
          </text>
        ))}
        {labels.map((label, i) =>
          i % every === 0 ? (
            <text key={`x${i}`} className="chart-tick" x={x(i)} y={height - 8} textAnchor="middle">
              {label}
            </text>
          ) : null,
        )}
        {series.map((s, index) => {
          const y = axes[index]!.y;
          const line = linePath(s.values, x, y);
          const base = y(axes[index]!.ticks[0] ?? 0);
          return (
            <g key={s.key}>
              {s.kind === "area" && count > 1 ? (
                <path
                  d={`${line}L${x(count - 1)},${base}L${x(0)},${base}Z`}
                  fill={s.color}
                  fillOpacity="0.12"
                />
              ) : null}
              <path d={line} fill="none" stroke={s.color} strokeWidth="2.2" strokeLinejoin="round" />
            </g>
          );
        })}
        {markers.map((marker, i) => (
          <g key={`m${marker.index}-${marker.label}`}>
            <line
              x1={x(marker.index)}
              x2={x(marker.index)}
              y1={pad.top}
              y2={height - pad.bottom}
              stroke={marker.color}
              strokeWidth="1.5"
              strokeDasharray="5 4"
            />
            <text
              className="chart-marker"
              x={x(marker.index) + (x(marker.index) > width * 0.8 ? -6 : 6)}
              y={pad.top + 12 + i * 14}
              textAnchor={x(marker.index) > width * 0.8 ? "end" : "start"}
              fill={marker.color}
            >
              {marker.label}
            </text>
          </g>
        ))}
        {active !== null ? (
          <g>
            <line className="chart-cross" x1={x(active)} x2={x(active)} y1={pad.top} y2={height - pad.bottom} />
            {series.map((s, index) => {
              const value = s.values[active];
              return value === null || value === undefined ? null : (
                <circle key={s.key} cx={x(active)} cy={axes[index]!.y(value)} r="4" fill={s.color} stroke="#fff" strokeWidth="2" />
              );
            })}
          </g>
        ) : null}
      </svg>
      {active !== null ? (
        <div
          className={`chart-tip ${tooltipLeft > 70 ? "chart-tip-left" : ""}`}
          style={{ left: `${tooltipLeft}%` }}
          role="status"
        >
          <strong>{labels[active]}</strong>
          {series.map((s) => {
            const value = s.values[active];
            return (
              <div key={s.key}>
                {s.label}: {value === null || value === undefined ? "—" : s.format(value)}
              </div>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}

/** The keyboard handler of a chart of `count` points: the arrow keys move the highlighted point,
 * Escape clears it. */
export function readWithKeys(count: number, setActive: Dispatch<SetStateAction<number | null>>) {
  return (event: KeyboardEvent<SVGSVGElement>) => {
    if (count === 0) return;
    if (event.key === "ArrowRight") setActive((i) => Math.min(count - 1, (i ?? -1) + 1));
    else if (event.key === "ArrowLeft") setActive((i) => Math.max(0, (i ?? count) - 1));
    else if (event.key === "Escape") setActive(null);
    else return;
    event.preventDefault();
  };
}
