import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { AlertItem } from "../components/alerts";
import { DualAxisChart, Sparkline } from "../components/charts";
import { Card, Empty, ErrorBanner, Marketplace, MARKETPLACES, PageHeader, Spinner } from "../components/ui";
import { festiveBands } from "../lib/festive";
import {
  formatChange,
  formatCount,
  formatCountCompact,
  formatINR,
  formatINRCompact,
  formatIST,
  formatISTDay,
  formatISTTime,
  formatPercent,
} from "../lib/format";
import { useLiveRefresh } from "../lib/liveContext";
import { Link } from "../lib/router";
import { useApi } from "../lib/useApi";

type WindowName = Schemas["WindowName"];
type Platform = Schemas["Platform"];
type Metrics = Schemas["MetricsOut"];
type Point = Schemas["TimeseriesPoint"];
type Kpi = Schemas["KpiOut"];

const WINDOWS: [WindowName, string][] = [
  ["today", "Today"],
  ["24h", "24 h"],
  ["7d", "7 days"],
  ["30d", "30 days"],
];

type Tile = {
  key: keyof Metrics;
  label: string;
  format: (value: Kpi["value"]) => string;
  series?: (point: Point) => number | null;
  /** A rise is bad (e.g. out-of-stock products). */
  inverse?: boolean;
};

const num = (value: string | number | null | undefined) =>
  value === null || value === undefined ? null : Number(value);

const TILES: Tile[] = [
  { key: "gmv", label: "GMV", format: formatINRCompact, series: (p) => num(p.gmv) },
  { key: "orders", label: "Orders", format: (v) => formatCountCompact(num(v)), series: (p) => p.orders },
  { key: "views", label: "Views", format: (v) => formatCountCompact(num(v)), series: (p) => p.views },
  { key: "ctr", label: "CTR", format: (v) => formatPercent(v), series: (p) => num(p.ctr) },
  { key: "conversion", label: "Conversion", format: (v) => formatPercent(v), series: (p) => num(p.conversion) },
  {
    key: "aov",
    label: "Avg. order value",
    format: (v) => formatINR(v, 0),
    series: (p) => (p.orders ? Number(p.gmv) / p.orders : null),
  },
  { key: "active_products", label: "Active products", format: (v) => formatCount(num(v)) },
  { key: "out_of_stock_products", label: "Out of stock", format: (v) => formatCount(num(v)), inverse: true },
];

function KpiTile({ tile, kpi, points }: { tile: Tile; kpi: Kpi; points: Point[] }) {
  const pct = kpi.change_pct === null ? null : Number(kpi.change_pct) / 100;
  const up = pct !== null && pct > 0;
  const down = pct !== null && pct < 0;
  const good = tile.inverse ? down : up;
  const bad = tile.inverse ? up : down;
  const tone = good ? "good" : bad ? "bad" : "neutral";
  const values = tile.series ? points.map(tile.series) : [];
  return (
    <div className="kpi" data-kpi={tile.key}>
      <div className="kpi-label">{tile.label}</div>
      <div className="kpi-value num" title={tile.key === "gmv" ? formatINR(kpi.value) : undefined}>
        {tile.format(kpi.value)}
      </div>
      <div className="kpi-foot">
        {kpi.previous !== null ? (
          <span className={`kpi-change kpi-${tone}`}>
            <span aria-hidden="true">{up ? "▲" : down ? "▼" : "•"}</span>{" "}
            {pct === null ? "new" : formatChange(pct)}
            <span className="sr-only"> against the previous window</span>
          </span>
        ) : (
          <span className="muted small">now</span>
        )}
        {values.length > 1 ? <Sparkline values={values} tone={tone === "bad" ? "bad" : "accent"} /> : null}
      </div>
    </div>
  );
}

function Movers({ direction, window, marketplace, version }: {
  direction: "up" | "down";
  window: WindowName;
  marketplace: Platform | "";
  version: number;
}) {
  const movers = useApi(
    () =>
      unwrap(
        api.GET("/metrics/movers", {
          params: {
            query: { metric: "gmv", direction, window, marketplace: marketplace || undefined, limit: 5 },
          },
        }),
      ),
    [direction, window, marketplace, version],
  );
  const items = movers.data?.items ?? [];
  return (
    <Card title={direction === "up" ? "Rising by GMV" : "Falling by GMV"}>
      <ErrorBanner message={movers.error} />
      {items.length === 0 && !movers.loading ? <Empty>No movement in this window.</Empty> : null}
      <ol className="movers">
        {items.map((mover) => (
          <li key={mover.product_id}>
            <div className="mover-main">
              <Link to={`/products/${mover.product_id}`} className="strong-link">
                {mover.title}
              </Link>
              <div className="muted small">
                <Marketplace value={mover.marketplace} /> · {mover.sku}
              </div>
            </div>
            <div className="right">
              <div className="num">{formatINRCompact(mover.value)}</div>
              <div className={`small num ${Number(mover.change) >= 0 ? "good" : "bad"}`}>
                {Number(mover.change) >= 0 ? "+" : "−"}
                {formatINRCompact(Math.abs(Number(mover.change)))}
              </div>
            </div>
          </li>
        ))}
      </ol>
    </Card>
  );
}

export function OverviewPage() {
  const [window, setWindow] = useState<WindowName>("today");
  const [marketplace, setMarketplace] = useState<Platform | "">("");
  const [version, setVersion] = useState(0);
  const query = { window, marketplace: marketplace || undefined };
  const granularity = window === "7d" || window === "30d" ? "day" : "hour";

  const metrics = useApi(() => unwrap(api.GET("/metrics", { params: { query } })), [window, marketplace, version]);
  const series = useApi(
    () => unwrap(api.GET("/metrics/timeseries", { params: { query: { ...query, granularity } } })),
    [window, marketplace, version],
  );
  const alerts = useApi(
    () => unwrap(api.GET("/alerts", { params: { query: { status: "open", limit: 4 } } })),
    [version],
  );
  const refresh = () => setVersion((v) => v + 1);
  useLiveRefresh(["kpis", "alerts"], refresh);

  const m = metrics.data;
  const points = series.data?.points ?? [];
  const labels = points.map((p) => (granularity === "hour" ? formatISTTime(p.start) : formatISTDay(p.start)));

  return (
    <>
      <PageHeader
        title="Overview"
        subtitle={m ? `${formatIST(m.window.start)} → ${formatIST(m.window.end)}` : "How your stores are doing."}
        actions={
          <>
            <div className="segmented" role="group" aria-label="Window">
              {WINDOWS.map(([value, label]) => (
                <button
                  key={value}
                  type="button"
                  aria-pressed={window === value}
                  onClick={() => setWindow(value)}
                >
                  {label}
                </button>
              ))}
            </div>
            <label className="sr-only" htmlFor="overview-market">
              Marketplace
            </label>
            <select
              id="overview-market"
              className="select-inline"
              value={marketplace}
              onChange={(e) => setMarketplace(e.target.value as Platform | "")}
            >
              <option value="">All marketplaces</option>
              {MARKETPLACES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </>
        }
      />
      <ErrorBanner message={metrics.error} onRetry={refresh} />
      {m ? (
        <section className="kpis" aria-label="Key figures">
          {TILES.map((tile) => (
            <KpiTile key={tile.key} tile={tile} kpi={m[tile.key] as Kpi} points={points} />
          ))}
        </section>
      ) : metrics.loading ? (
        <Spinner />
      ) : null}
      <div className="grid-main-side">
        <Card title="GMV and orders" className="chart-card">
          {points.length > 1 ? (
            <DualAxisChart
              title={`GMV and orders by ${granularity} (IST)`}
              labels={labels}
              bands={festiveBands(
                points.map((p) => p.start),
                marketplace,
              )}
              series={[
                {
                  key: "gmv",
                  label: "GMV",
                  kind: "area",
                  color: "#4338ca",
                  values: points.map((p) => Number(p.gmv)),
                  format: formatINRCompact,
                },
                {
                  key: "orders",
                  label: "Orders",
                  kind: "line",
                  color: "#0d9488",
                  values: points.map((p) => p.orders),
                  format: (v) => formatCountCompact(v),
                },
              ]}
            />
          ) : (
            <Empty>Not enough data in this window yet.</Empty>
          )}
        </Card>
        <Card
          title="Open alerts"
          actions={
            <Link to="/alerts" className="small">
              All alerts
            </Link>
          }
        >
          {(alerts.data?.items ?? []).length === 0 && !alerts.loading ? (
            <Empty>All clear — no open alerts.</Empty>
          ) : (
            <ul className="alert-list">
              {(alerts.data?.items ?? []).map((alert) => (
                <AlertItem key={alert.id} alert={alert} onChange={refresh} />
              ))}
            </ul>
          )}
        </Card>
      </div>
      <div className="grid-2 section">
        <Movers direction="up" window={window} marketplace={marketplace} version={version} />
        <Movers direction="down" window={window} marketplace={marketplace} version={version} />
      </div>
    </>
  );
}
