import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import {
  Badge,
  Card,
  Empty,
  ErrorBanner,
  Field,
  Marketplace,
  MARKETPLACES,
  PageHeader,
  Pager,
} from "../components/ui";
import { formatAgo, formatCount, formatINR, formatIST } from "../lib/format";
import { currentCursor, FIRST_PAGE, nextTrail, pageNumber, previousTrail } from "../lib/paging";
import { Link } from "../lib/router";
import { useApi } from "../lib/useApi";
import { useDebounced } from "../lib/useDebounced";

type Platform = Schemas["Platform"];
const PAGE_SIZE = 25;

export function StockBadge({ stock }: { stock: number | null }) {
  if (stock === null) return <span className="muted">—</span>;
  if (stock <= 0) return <Badge tone="bad">Out of stock</Badge>;
  if (stock < 10) return <Badge tone="warn">{formatCount(stock)} left</Badge>;
  return <span className="num">{formatCount(stock)}</span>;
}

export function ProductsPage() {
  const [q, setQ] = useState("");
  const [marketplace, setMarketplace] = useState<Platform | "">("");
  const [category, setCategory] = useState("");
  const [trail, setTrail] = useState(FIRST_PAGE);
  const query = useDebounced(q);
  const categoryQuery = useDebounced(category);
  const cursor = currentCursor(trail);

  const page = useApi(
    () =>
      unwrap(
        api.GET("/products", {
          params: {
            query: {
              q: query || undefined,
              marketplace: marketplace || undefined,
              category: categoryQuery || undefined,
              limit: PAGE_SIZE,
              cursor: cursor ?? undefined,
            },
          },
        }),
      ),
    [query, marketplace, categoryQuery, cursor],
  );
  const resetPaging = () => setTrail(FIRST_PAGE);
  const items = page.data?.items ?? [];

  return (
    <>
      <PageHeader title="Products" subtitle="Your catalogue across marketplaces." />
      <Card>
        <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <Field label="Search">
            {(id) => (
              <input
                id={id}
                type="search"
                placeholder="Title, brand, SKU or ASIN"
                value={q}
                onChange={(e) => {
                  setQ(e.target.value);
                  resetPaging();
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
                  resetPaging();
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
                placeholder="e.g. Apparel > Kurtas"
                value={category}
                onChange={(e) => {
                  setCategory(e.target.value);
                  resetPaging();
                }}
              />
            )}
          </Field>
        </form>
        <ErrorBanner message={page.error} onRetry={page.reload} />
        <div className="table-wrap" aria-busy={page.loading}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Marketplace</th>
                <th scope="col">Category</th>
                <th scope="col" className="right">
                  Price
                </th>
                <th scope="col" className="right">
                  MRP
                </th>
                <th scope="col" className="right">
                  Stock
                </th>
                <th scope="col" className="right">
                  Rating
                </th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((product) => (
                <tr key={product.id}>
                  <td>
                    <Link to={`/products/${product.id}`} className="strong-link">
                      {product.title}
                    </Link>
                    <div className="muted small">
                      {product.brand} · SKU {product.sku}
                      {product.status !== "active" ? (
                        <>
                          {" "}
                          <Badge tone="neutral">{product.status}</Badge>
                        </>
                      ) : null}
                    </div>
                  </td>
                  <td>
                    <Marketplace value={product.marketplace} />
                  </td>
                  <td className="small">{product.category}</td>
                  <td className="right num">{formatINR(product.price)}</td>
                  <td className="right num muted">
                    {formatINR(product.mrp)}
                    {product.discount_pct && Number(product.discount_pct) > 0 ? (
                      <div className="small good">{Number(product.discount_pct).toFixed(0)}% off</div>
                    ) : null}
                  </td>
                  <td className="right">
                    <StockBadge stock={product.stock} />
                  </td>
                  <td className="right num">
                    {product.rating !== null ? `★ ${product.rating.toFixed(1)}` : "—"}
                  </td>
                  <td className="small" title={formatIST(product.updated_at)}>
                    {formatAgo(product.updated_at)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!page.loading && items.length === 0 && !page.error ? (
            <Empty>No products match these filters.</Empty>
          ) : null}
        </div>
        <Pager
          page={pageNumber(trail)}
          hasPrevious={trail.length > 1}
          hasNext={Boolean(page.data?.next_cursor)}
          onPrevious={() => setTrail(previousTrail(trail))}
          onNext={() => setTrail(nextTrail(trail, page.data?.next_cursor))}
          loading={page.loading}
        />
      </Card>
    </>
  );
}
