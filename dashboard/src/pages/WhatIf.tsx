import { useEffect, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { DualAxisChart } from "../components/charts";
import { RankChange, RuleBadges } from "../components/RuleBadges";
import { Card, Empty, ErrorBanner, Field, PageHeader, Spinner } from "../components/ui";
import { formatCount, formatINR, formatINRCompact } from "../lib/format";
import { Link, navigate, useLocation } from "../lib/router";
import { useApi } from "../lib/useApi";
import { useDebounced } from "../lib/useDebounced";

type State = Schemas["WhatIfState"];

/** Slider bounds around the current price: half to one and a half times, in whole rupees. */
export function priceBounds(current: number): { min: number; max: number; step: number } {
  const min = Math.max(1, Math.floor(current * 0.5));
  const max = Math.max(min + 1, Math.ceil(current * 1.5));
  const step = current >= 1000 ? 10 : 1;
  return { min, max, step };
}

function Compare({ label, before, after, format }: {
  label: string;
  before: number | string | null;
  after: number | string | null;
  format: (v: number | string | null) => string;
}) {
  const delta = before !== null && after !== null ? Number(after) - Number(before) : null;
  return (
    <div className="compare">
      <div className="kpi-label">{label}</div>
      <div className="compare-values">
        <span className="muted num">{format(before)}</span>
        <span aria-hidden="true">→</span>
        <strong className="num">{format(after)}</strong>
      </div>
      {delta !== null && Math.abs(delta) > 1e-9 ? (
        <div className={`small ${delta > 0 ? "good" : "bad"}`}>
          {delta > 0 ? "▲" : "▼"} {format(Math.abs(delta))}
        </div>
      ) : (
        <div className="small muted">no change</div>
      )}
    </div>
  );
}

function Simulator({ item }: { item: Schemas["ItemOut"] }) {
  const current = Number(item.price ?? 0);
  const bounds = priceBounds(current);
  const [price, setPrice] = useState(current);
  const [text, setText] = useState(current.toFixed(2));
  const wanted = useDebounced(price, 250);

  const result = useApi(
    () => unwrap(api.POST("/whatif/price", { body: { item_id: item.id, new_price: wanted.toFixed(2) } })),
    [item.id, wanted],
  );
  const sweep = useApi(
    () =>
      unwrap(
        api.POST("/whatif/price-sweep", {
          body: { item_id: item.id, min: bounds.min.toFixed(2), max: bounds.max.toFixed(2), steps: 41 },
        }),
      ),
    [item.id],
  );
  const setBoth = (value: number) => {
    setPrice(value);
    setText(value.toFixed(2));
  };
  const r = result.data;
  const s: [State | undefined, State | undefined] = [r?.current, r?.simulated];
  const points = sweep.data?.points ?? [];
  const nearest = (target: number) =>
    points.reduce(
      (best, p, i) => (Math.abs(Number(p.price) - target) < Math.abs(Number(points[best]?.price) - target) ? i : best),
      0,
    );
  const best = sweep.data ? Number(sweep.data.best_price) : null;

  return (
    <>
      <div className="grid-main-side">
        <Card title="New price">
          <div className="whatif-inputs">
            <input
              type="range"
              aria-label="New price (₹), slider"
              min={bounds.min}
              max={bounds.max}
              step={bounds.step}
              value={price}
              onChange={(e) => setBoth(Number(e.target.value))}
            />
            <Field label="New price (₹)">
              {(id) => (
                <input
                  id={id}
                  inputMode="decimal"
                  value={text}
                  onChange={(e) => {
                    setText(e.target.value);
                    const value = Number(e.target.value.replaceAll(",", "").replace("₹", ""));
                    if (Number.isFinite(value) && value > 0) setPrice(value);
                  }}
                />
              )}
            </Field>
            <div className="whatif-quick">
              <button type="button" className="btn btn-small" onClick={() => setBoth(current)}>
                Current {formatINR(current)}
              </button>
              {best !== null ? (
                <button type="button" className="btn btn-small" onClick={() => setBoth(best)}>
                  Best {formatINR(best)}
                </button>
              ) : null}
            </div>
          </div>
          <ErrorBanner message={result.error} />
        </Card>
        <Card title="Before → after" className="compare-card">
          {r ? (
            <div className="compare-grid" aria-live="polite" data-testid="whatif-result">
              <Compare
                label="Expected orders, 24 h"
                before={s[0]?.expected_orders ?? null}
                after={s[1]?.expected_orders ?? null}
                format={(v) => (v === null ? "—" : Number(v).toFixed(2))}
              />
              <Compare
                label="Expected GMV, 24 h"
                before={s[0]?.expected_gmv ?? null}
                after={s[1]?.expected_gmv ?? null}
                format={(v) => formatINR(v, 0)}
              />
              <div className="compare">
                <div className="kpi-label">Rank</div>
                <div className="compare-values">
                  <span className="muted num">{s[0]?.rank ? `#${formatCount(s[0].rank)}` : "—"}</span>
                  <span aria-hidden="true">→</span>
                  <strong className="num">{s[1]?.rank ? `#${formatCount(s[1].rank)}` : "—"}</strong>
                </div>
                <RankChange change={r.rank_change} />
              </div>
              {r.rules_considered.length ? (
                <div className="small muted">
                  Rules considered: <RuleBadges rules={r.rules_considered} />
                </div>
              ) : null}
            </div>
          ) : (
            <Spinner label="Simulating" />
          )}
        </Card>
      </div>
      <Card title="Price sweep: expected GMV and orders by price" className="section">
        <ErrorBanner message={sweep.error} />
        {points.length > 1 ? (
          <DualAxisChart
            title="Expected GMV and orders across prices"
            labels={points.map((p) => formatINRCompact(p.price))}
            markers={[
              { index: nearest(current), label: `Current ${formatINR(current, 0)}`, color: "#475569" },
              ...(best !== null
                ? [{ index: nearest(best), label: `Best ${formatINR(best, 0)}`, color: "#15803d" }]
                : []),
            ]}
            series={[
              {
                key: "gmv",
                label: "Expected GMV",
                kind: "area",
                color: "#4338ca",
                values: points.map((p) => Number(p.expected_gmv)),
                format: formatINRCompact,
              },
              {
                key: "orders",
                label: "Expected orders",
                kind: "line",
                color: "#0d9488",
                values: points.map((p) => p.expected_orders),
                format: (v) => v.toFixed(1),
              },
            ]}
          />
        ) : sweep.loading ? (
          <Spinner label="Sweeping prices" />
        ) : null}
      </Card>
    </>
  );
}

function Picker() {
  const [q, setQ] = useState("");
  const query = useDebounced(q);
  const products = useApi(
    () => unwrap(api.GET("/products", { params: { query: { q: query || undefined, limit: 8 } } })),
    [query],
  );
  return (
    <Card title="Choose a product">
      <Field label="Search products">
        {(id) => (
          <input id={id} type="search" placeholder="Title, brand, SKU" value={q} onChange={(e) => setQ(e.target.value)} />
        )}
      </Field>
      <ul className="picker">
        {(products.data?.items ?? []).map((p) => (
          <li key={p.id}>
            <button type="button" className="picker-item" onClick={() => navigate(`/whatif?item=${p.id}`)}>
              <strong>{p.title}</strong>
              <span className="muted small">
                {p.sku} · {formatINR(p.price)}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function WhatIfPage() {
  const { search } = useLocation();
  const id = Number(search.get("item") ?? "");
  const valid = Number.isInteger(id) && id > 0;
  const item = useApi(
    () => (valid ? unwrap(api.GET("/item/{item_id}", { params: { path: { item_id: id } } })) : Promise.resolve(null)),
    [id],
  );
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [id]);
  const p = item.data;
  return (
    <>
      <PageHeader
        title="What-if: price"
        subtitle={
          p ? (
            <>
              <Link to={`/products/${p.id}`}>{p.title}</Link> · now {formatINR(p.price)} · rank{" "}
              {p.rank ? `#${formatCount(p.rank)}` : "—"}
            </>
          ) : (
            "Try a price before you change it: predicted orders, GMV and rank."
          )
        }
        actions={
          p ? (
            <button type="button" className="btn" onClick={() => navigate("/whatif")}>
              Another product
            </button>
          ) : null
        }
      />
      <ErrorBanner message={item.error} />
      {!valid ? <Picker /> : p ? (p.price ? <Simulator key={p.id} item={p} /> : <Empty>This product has no price.</Empty>) : <Spinner />}
    </>
  );
}
