import type { ReactNode } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { RankChange, RuleBadges } from "../components/RuleBadges";
import { Waterfall } from "../components/Waterfall";
import { useAuth } from "../lib/auth";
import { allows } from "../lib/roles";
import { Card, Empty, ErrorBanner, Marketplace, PageHeader, Spinner } from "../components/ui";
import { formatChange, formatCount, formatINR, formatINRCompact, formatIST, formatPercent } from "../lib/format";
import { useLiveRefresh } from "../lib/liveContext";
import { Link } from "../lib/router";
import { useApi } from "../lib/useApi";
import { ScoreHistory } from "./ProductHistory";
import { StockBadge } from "./Products";

type Kpi = Schemas["KpiOut"];
type Window = Schemas["ProductWindowMetrics"];

const WINDOW_LABEL: [string, string][] = [
  ["today", "Today"],
  ["24h", "24 h"],
  ["7d", "7 days"],
  ["30d", "30 days"],
];
const ROWS: [keyof Window, string, (v: Kpi["value"]) => string][] = [
  ["gmv", "GMV", (v) => formatINRCompact(v)],
  ["orders", "Orders", (v) => formatCount(v === null ? null : Number(v))],
  ["views", "Views", (v) => formatCount(v === null ? null : Number(v))],
  ["ctr", "CTR", (v) => formatPercent(v)],
  ["conversion", "Conversion", (v) => formatPercent(v)],
];

function Cell({ kpi, format }: { kpi: Kpi | undefined; format: (v: Kpi["value"]) => string }) {
  if (!kpi) return <td className="right muted">—</td>;
  const pct = kpi.change_pct === null ? null : Number(kpi.change_pct) / 100;
  return (
    <td className="right num">
      {format(kpi.value)}
      {pct !== null ? (
        <div className={`small ${pct > 0 ? "good" : pct < 0 ? "bad" : "muted"}`}>{formatChange(pct)}</div>
      ) : null}
    </td>
  );
}

/** GMV of each window beside the previous equal window: the product's metrics at a glance. */
function WindowBars({ windows }: { windows: Record<string, Window> }) {
  const rows = WINDOW_LABEL.map(([key, label]) => {
    const gmv = windows[key]?.gmv;
    return { label, value: Number(gmv?.value ?? 0), previous: Number(gmv?.previous ?? 0) };
  });
  const max = Math.max(1, ...rows.flatMap((r) => [r.value, r.previous]));
  return (
    <div className="bars" role="img" aria-label="GMV by window against the previous window">
      {rows.map((row) => (
        <div key={row.label} className="bar-row">
          <span className="bar-label">{row.label}</span>
          <span className="bar-track">
            <span className="bar bar-now" style={{ width: `${(row.value / max) * 100}%` }} />
            <span className="bar bar-prev" style={{ width: `${(row.previous / max) * 100}%` }} />
          </span>
          <span className="bar-value num">{formatINRCompact(row.value)}</span>
        </div>
      ))}
      <div className="chart-legend">
        <span>
          <i className="legend-swatch bar-now" /> This window
        </span>
        <span>
          <i className="legend-swatch bar-prev" /> Previous window
        </span>
      </div>
    </div>
  );
}

export function ProductPage({ id }: { id: number }) {
  const { me } = useAuth();
  const item = useApi(() => unwrap(api.GET("/item/{item_id}", { params: { path: { item_id: id } } })), [id]);
  const explain = useApi(
    () => unwrap(api.GET("/explain/{item_id}", { params: { path: { item_id: id } } })),
    [id],
  );
  useLiveRefresh(["ranking"], item.reload, 30_000);
  const p = item.data;
  if (item.loading && !p) return <Spinner />;
  if (!p) return <ErrorBanner message={item.error ?? "Product not found."} onRetry={item.reload} />;
  const m = p.metrics;

  const facts: [string, ReactNode][] = [
    ["Marketplace", <Marketplace value={p.marketplace} />],
    ["SKU", p.sku],
    ["Status", p.status],
    ["Price", formatINR(p.price)],
    ["MRP", formatINR(p.mrp)],
    ["Stock", <StockBadge stock={p.stock} />],
    ["Days of cover", m.days_of_cover === null ? "—" : Number(m.days_of_cover).toFixed(1)],
    ["Units, last 7 days", formatCount(m.units_last_7d)],
    ["Rating", p.rating !== null ? `★ ${p.rating.toFixed(1)} (${formatCount(p.rating_count)})` : "—"],
  ];

  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/rankings">Rankings</Link> <span aria-hidden="true">/</span> <span>{p.sku}</span>
      </nav>
      <PageHeader
        title={p.title}
        subtitle={`${p.brand} · ${p.category}`}
        actions={
          <>
            {allows(me?.role, "merchandiser") ? (
              <>
                <Link to={`/rules?kind=pin&product=${p.id}`} className="btn">
                  Pin or boost…
                </Link>
                <Link to={`/whatif?item=${p.id}`} className="btn btn-primary">
                  Simulate a price
                </Link>
              </>
            ) : null}
          </>
        }
      />
      <section className="kpis" aria-label="Score">
        <div className="kpi">
          <div className="kpi-label">Rank</div>
          <div className="kpi-value num" data-testid="item-rank">
            {p.rank === null ? "—" : `#${formatCount(p.rank)}`}
          </div>
          <div className="kpi-foot">
            <RankChange change={p.rank_change} />
            <RuleBadges rules={p.rules_applied} />
          </div>
        </div>
        <div className="kpi">
          <div className="kpi-label">Expected orders, 24 h</div>
          <div className="kpi-value num">{p.score === null ? "—" : p.score.toFixed(2)}</div>
          <div className="kpi-foot muted small">model {p.model_version ?? "—"}</div>
        </div>
        <div className="kpi">
          <div className="kpi-label">Expected GMV, 24 h</div>
          <div className="kpi-value num">{formatINRCompact(p.expected_gmv)}</div>
          <div className="kpi-foot muted small">{p.computed_at ? `scored ${formatIST(p.computed_at)}` : "not scored yet"}</div>
        </div>
      </section>
      <div className="grid-main-side section">
        <Card title="Why this score" className="explain-card">
          {explain.data ? (
            <Waterfall explain={explain.data} />
          ) : explain.error ? (
            <Empty>{explain.error}</Empty>
          ) : (
            <Spinner label="Explaining" />
          )}
        </Card>
        <Card title="Details">
          <dl className="facts facts-narrow">
            {facts.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </Card>
      </div>
      <div className="section">
        <ScoreHistory id={p.id} />
      </div>
      <div className="grid-2 section">
        <Card title="GMV by window">
          <WindowBars windows={m.windows} />
        </Card>
        <Card title="Metrics">
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  {WINDOW_LABEL.map(([key, label]) => (
                    <th key={key} scope="col" className="right">
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {ROWS.map(([key, label, format]) => (
                  <tr key={key}>
                    <th scope="row">{label}</th>
                    {WINDOW_LABEL.map(([w]) => (
                      <Cell key={w} kpi={m.windows[w]?.[key] as Kpi | undefined} format={format} />
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      </div>
    </>
  );
}
