import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { HistoryChart } from "../components/HistoryChart";
import { Card, Empty, ErrorBanner, Spinner } from "../components/ui";
import { formatCount } from "../lib/format";
import { toTimeline } from "../lib/history";
import { useLiveRefresh } from "../lib/liveContext";
import { useApi } from "../lib/useApi";

type Point = Schemas["HistoryPointOut"];
const HOUR = 3_600_000;
const WINDOWS: [string, string, number][] = [
  ["24h", "24 h", 24 * HOUR],
  ["7d", "7 days", 7 * 24 * HOUR],
  ["30d", "30 days", 30 * 24 * HOUR],
];
const PAGE = 1000;
const MAX_PAGES = 5; // the newest 5,000 points: a top product moving every cycle fills about two days

async function loadHistory(id: number, span: number) {
  const end = Date.now();
  const start = end - span;
  const points: Point[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body: Schemas["Page_HistoryPointOut_"] = await unwrap(
      api.GET("/item/{item_id}/history", {
        params: { path: { item_id: id }, query: { from: new Date(start).toISOString(), limit: PAGE, cursor } },
      }),
    );
    points.push(...body.items);
    cursor = body.next_cursor ?? null;
    if (!cursor) break;
  }
  return { points, start, end, truncated: cursor !== null };
}

/** The inspector's score and rank history card, with its own window. */
export function ScoreHistory({ id }: { id: number }) {
  const [choice, setChoice] = useState("7d");
  const span = WINDOWS.find(([key]) => key === choice)?.[2] ?? WINDOWS[1]![2];
  const history = useApi(() => loadHistory(id, span), [id, span]);
  useLiveRefresh(["ranking"], history.reload, 60_000);
  const data = history.data;
  return (
    <Card
      title="Score and rank history"
      actions={
        <div className="segmented" role="group" aria-label="History window">
          {WINDOWS.map(([key, label]) => (
            <button key={key} type="button" aria-pressed={choice === key} onClick={() => setChoice(key)}>
              {label}
            </button>
          ))}
        </div>
      }
    >
      <ErrorBanner message={history.error} onRetry={history.reload} />
      {data ? (
        data.points.length ? (
          <>
            <HistoryChart timeline={toTimeline(data.points)} start={data.start} end={data.end} />
            <p className="muted small">
              A point is kept when the rank or score moved, and once a day; times in IST.
              {data.truncated ? ` Showing the latest ${formatCount(data.points.length)} points.` : ""}
            </p>
          </>
        ) : (
          <Empty>No history in this window yet: points appear as the model scores this product.</Empty>
        )
      ) : history.loading ? (
        <Spinner label="Loading history" />
      ) : null}
    </Card>
  );
}
