import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { RankChange, RuleBadges } from "../components/RuleBadges";
import { Card, Empty, ErrorBanner, Field, Marketplace, MARKETPLACES, PageHeader } from "../components/ui";
import { formatAgo, formatCount, formatINR, formatIST } from "../lib/format";
import { useLiveRefresh } from "../lib/liveContext";
import { Link } from "../lib/router";
import { useApi } from "../lib/useApi";
import { useDebounced } from "../lib/useDebounced";
import { StockBadge } from "./Products";

type Platform = Schemas["Platform"];
const PAGE_SIZE = 50;
const MAX_QUERY = 100; // the server's limit (RankRequest.q)

export function RankingsPage() {
  const [marketplace, setMarketplace] = useState<Platform | "">("");
  const [category, setCategory] = useState("");
  const [brand, setBrand] = useState("");
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  // Debounced one by one: a fresh object every render would never settle and refetch forever.
  const debouncedCategory = useDebounced(category);
  const debouncedBrand = useDebounced(brand);
  const query = useDebounced(q.trim().slice(0, MAX_QUERY));

  const ranking = useApi(
    () =>
      unwrap(
        api.POST("/rank", {
          body: {
            limit: PAGE_SIZE,
            offset,
            marketplace: marketplace || null,
            category: debouncedCategory || null,
            brand: debouncedBrand || null,
            q: query || null,
          },
        }),
      ),
    [marketplace, debouncedCategory, debouncedBrand, query, offset],
  );
  useLiveRefresh(["ranking", "rules"], ranking.reload, 30_000);
  const data = ranking.data;
  const items = data?.items ?? [];
  const total = data?.total ?? 0;
  // With filters the server counts matches only up to a cap, and says when there are more.
  const capped = data?.total_capped ?? false;
  const reset = () => setOffset(0);

  return (
    <>
      <PageHeader
        title="Rankings"
        subtitle={
          data?.computed_at ? (
            <>
              {data.score_meaning}. Scored {formatAgo(data.computed_at)} by model{" "}
              <code>{data.model_version}</code>.
            </>
          ) : (
            "The model's ranking, with your rules applied."
          )
        }
      />
      <Card>
        <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <Field label="Search">
            {(id) => (
              <input
                id={id}
                type="search"
                placeholder="Title, SKU or brand"
                maxLength={MAX_QUERY}
                value={q}
                onChange={(e) => {
                  setQ(e.target.value);
                  reset();
                }}
              />
            )}
          </Field>
          <Field label="Marketplace">
            {(id) => (
              <select
                id={id}
                value={marketplace}
                onChange={(e) => {
                  setMarketplace(e.target.value as Platform | "");
                  reset();
                }}
              >
                <option value="">All marketplaces</option>
                {MARKETPLACES.map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Category">
            {(id) => (
              <input
                id={id}
                placeholder="e.g. Ethnic Wear"
                value={category}
                onChange={(e) => {
                  setCategory(e.target.value);
                  reset();
                }}
              />
            )}
          </Field>
          <Field label="Brand">
            {(id) => (
              <input
                id={id}
                value={brand}
                onChange={(e) => {
                  setBrand(e.target.value);
                  reset();
                }}
              />
            )}
          </Field>
        </form>
        <ErrorBanner message={ranking.error} onRetry={ranking.reload} />
        <div className="table-wrap" aria-busy={ranking.loading}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col" className="right">
                  Rank
                </th>
                <th scope="col">Change</th>
                <th scope="col">Product</th>
                <th scope="col" className="right">
                  Score
                </th>
                <th scope="col" className="right">
                  Expected GMV
                </th>
                <th scope="col" className="right">
                  Price
                </th>
                <th scope="col" className="right">
                  Stock
                </th>
                <th scope="col">Rules</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id} data-rank={item.rank}>
                  <td className="right num rank-cell">{formatCount(item.rank)}</td>
                  <td className="num">
                    <RankChange change={item.rank_change} />
                  </td>
                  <td>
                    <Link to={`/products/${item.id}`} className="strong-link">
                      {item.title}
                    </Link>
                    <div className="muted small">
                      <Marketplace value={item.marketplace} /> · {item.brand} · {item.category}
                    </div>
                  </td>
                  <td className="right num" title="Expected orders in the next 24 h">
                    {item.score.toFixed(2)}
                  </td>
                  <td className="right num">{formatINR(item.expected_gmv, 0)}</td>
                  <td className="right num">{formatINR(item.price)}</td>
                  <td className="right">
                    <StockBadge stock={item.stock} />
                  </td>
                  <td>
                    <RuleBadges rules={item.rules_applied} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!ranking.loading && items.length === 0 && !ranking.error ? (
            <Empty>
              {data?.model_version ? query ? `No ranked products match “${query}” with these filters.` : "No ranked products match these filters." : "No scores yet: the model has not run."}
            </Empty>
          ) : null}
        </div>
        <nav className="pager" aria-label="Pagination">
          <span className="muted">
            {total ? `${formatCount(offset + 1)}–${formatCount(offset + items.length)} of ${formatCount(total)}${capped ? "+" : ""}` : ""}
          </span>
          <button
            type="button"
            className="btn"
            disabled={offset === 0 || ranking.loading}
            onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
          >
            ← Previous
          </button>
          <button
            type="button"
            className="btn"
            disabled={(offset + PAGE_SIZE >= total && !capped) || ranking.loading}
            onClick={() => setOffset(offset + PAGE_SIZE)}
          >
            Next →
          </button>
        </nav>
        {data?.computed_at ? <p className="muted small">Computed {formatIST(data.computed_at, true)}</p> : null}
      </Card>
    </>
  );
}
