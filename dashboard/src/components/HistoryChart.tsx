import { type PointerEvent, useRef, useState } from "react";
import { niceTicks, scaleLinear } from "../lib/chart";
import { formatCount, formatIST } from "../lib/format";
import { readWithKeys } from "./charts";
import { chartStart, pointAt, rankTicks, stepPath, timeTicks, type Timeline } from "../lib/history";

const SCORE_COLOR = "#4338ca";
const RANK_COLOR = "#0f766e";

/** Expected orders (left axis) and rank (right axis, 1 on top) over time, as steps between the
 * recorded change points; a pointer or the arrow keys read the values in effect. */
export function HistoryChart({ timeline, start, end }: { timeline: Timeline; start: number; end: number }) {
  const [active, setActive] = useState<number | null>(null);
  const box = useRef<SVGSVGElement>(null);
  const width = 880;
  const height = 240;
  const pad = { top: 14, right: 64, bottom: 28, left: 64 };
  const { times, scores, ranks } = timeline;
  const from = chartStart(times, start, end);
  const x = scaleLinear(from, end, pad.left, width - pad.right);
  const scoreTicks = niceTicks(0, Math.max(0, ...scores), 4);
  const scoreDecimals = scoreTicks.every(Number.isInteger) ? 0 : 2;
  const yScore = scaleLinear(0, scoreTicks[scoreTicks.length - 1] ?? 1, height - pad.bottom, pad.top);
  const rankAxis = rankTicks(ranks);
  const yRank = scaleLinear(rankAxis[0] ?? 1, rankAxis[rankAxis.length - 1] ?? 2, pad.top, height - pad.bottom);
  const count = times.length;

  const move = (event: PointerEvent<SVGSVGElement>) => {
    const rect = box.current?.getBoundingClientRect();
    if (!rect || count === 0) return;
    const position = ((event.clientX - rect.left) / rect.width) * width;
    const time = from + ((position - pad.left) / (width - pad.left - pad.right)) * (end - from);
    const index = pointAt(times, time);
    setActive(index < 0 ? null : index);
  };
  const key = readWithKeys(count, setActive);

  const activeTime = active !== null ? times[active] : undefined;
  const tooltipLeft = activeTime !== undefined ? (x(activeTime) / width) * 100 : 0;
  const label =
    `Score and rank history: ${count} recorded ${count === 1 ? "point" : "points"}` +
    (count ? ` from ${formatIST(new Date(times[0]!))} to ${formatIST(new Date(times[count - 1]!))}` : "") +
    ". Use the arrow keys to read values.";
  return (
    <div className="chart">
      <div className="chart-legend" aria-hidden="true">
        <span>
          <i className="legend-swatch" style={{ background: SCORE_COLOR }} />
          Expected orders, 24 h
        </span>
        <span>
          <i className="legend-swatch" style={{ background: RANK_COLOR }} />
          Rank (1 on top)
        </span>
      </div>
      <svg
        ref={box}
        className="chart-svg"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={label}
        tabIndex={0}
        onPointerMove={move}
        onPointerLeave={() => setActive(null)}
        onKeyDown={key}
        onBlur={() => setActive(null)}
      >
        {scoreTicks.map((tick) => (
          <g key={`s${tick}`}>
            <line className="chart-grid" x1={pad.left} x2={width - pad.right} y1={yScore(tick)} y2={yScore(tick)} />
            <text className="chart-tick" x={pad.left - 8} y={yScore(tick) + 4} textAnchor="end">
              {tick.toFixed(scoreDecimals)}
            </text>
          </g>
        ))}
        {rankAxis.map((tick) => (
          <text key={`r${tick}`} className="chart-tick" x={width - pad.right + 8} y={yRank(tick) + 4}>
            #{formatCount(tick)}
          </text>
        ))}
        {timeTicks(from, end).map((tick) => (
          <text key={tick.at} className="chart-tick" x={x(tick.at)} y={height - 8} textAnchor="middle">
            {tick.label}
          </text>
        ))}
        <path d={stepPath(times, scores, end, x, yScore)} fill="none" stroke={SCORE_COLOR} strokeWidth="2.2" />
        <path
          d={stepPath(times, ranks, end, x, yRank)}
          fill="none"
          stroke={RANK_COLOR}
          strokeWidth="2"
          strokeDasharray="6 3"
        />
        {times.map((time, i) => (
          <circle key={time} className="history-point" cx={x(time)} cy={yScore(scores[i]!)} r="2.5" fill={SCORE_COLOR} />
        ))}
        {activeTime !== undefined && active !== null ? (
          <g>
            <line className="chart-cross" x1={x(activeTime)} x2={x(activeTime)} y1={pad.top} y2={height - pad.bottom} />
            <circle cx={x(activeTime)} cy={yScore(scores[active]!)} r="4" fill={SCORE_COLOR} stroke="#fff" strokeWidth="2" />
            {ranks[active] !== null ? (
              <circle cx={x(activeTime)} cy={yRank(ranks[active]!)} r="4" fill={RANK_COLOR} stroke="#fff" strokeWidth="2" />
            ) : null}
          </g>
        ) : null}
      </svg>
      {activeTime !== undefined && active !== null ? (
        <div className={`chart-tip ${tooltipLeft > 70 ? "chart-tip-left" : ""}`} style={{ left: `${tooltipLeft}%` }} role="status">
          <strong>{formatIST(new Date(activeTime))}</strong>
          <div>Expected orders: {scores[active]!.toFixed(2)}</div>
          <div>Rank: {ranks[active] === null ? "not ranked" : `#${formatCount(ranks[active])}`}</div>
        </div>
      ) : null}
    </div>
  );
}
