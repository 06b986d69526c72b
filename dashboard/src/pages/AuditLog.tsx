import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { Badge, type BadgeTone, Card, Empty, ErrorBanner, Field, PageHeader, Pager } from "../components/ui";
import { formatIST, istInputToUTC } from "../lib/format";
import { currentCursor, FIRST_PAGE, nextTrail, pageNumber, previousTrail } from "../lib/paging";
import { useApi } from "../lib/useApi";
import { useDebounced } from "../lib/useDebounced";

type Entry = Schemas["AuditLogOut"];
const PAGE_SIZE = 50;
const FILTERS = ["actor", "action", "entity_type", "entity_id", "from", "to"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
const EMPTY: Filters = { actor: "", action: "", entity_type: "", entity_id: "", from: "", to: "" };

function actionTone(action: string): BadgeTone {
  if (/delete|revoke|remove|reject|quarantin/.test(action)) return "bad";
  if (/create|promote|login/.test(action)) return "good";
  if (/update|rotate|replay|ack/.test(action)) return "info";
  return "neutral";
}

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

function Row({ entry }: { entry: Entry }) {
  const [open, setOpen] = useState(false);
  const actor = entry.actor_name ?? entry.actor_id ?? "";
  return (
    <>
      <tr>
        <td className="small nowrap">{formatIST(entry.created_at, true)}</td>
        <td>
          <span className="muted small">{entry.actor_type}</span> {actor}
        </td>
        <td>
          <Badge tone={actionTone(entry.action)}>{entry.action}</Badge>
        </td>
        <td>
          {entry.entity_type}
          {entry.entity_id ? <span className="muted"> #{entry.entity_id}</span> : null}
        </td>
        <td className="right">
          <button
            type="button"
            className="btn btn-small btn-ghost"
            aria-expanded={open}
            onClick={() => setOpen(!open)}
          >
            {open ? "Hide" : "Changes"}
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="detail-row">
          <td colSpan={5}>
            <div className="diff">
              <div>
                <h3>Before</h3>
                <Json value={entry.old_value} />
              </div>
              <div>
                <h3>After</h3>
                <Json value={entry.new_value} />
              </div>
            </div>
            <p className="muted small">
              Entry {entry.seq} · request {entry.request_id ?? "—"} · hash{" "}
              <code>{entry.hash.slice(0, 16)}…</code>
            </p>
          </td>
        </tr>
      ) : null}
    </>
  );
}

export function AuditLogPage() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [trail, setTrail] = useState(FIRST_PAGE);
  const debounced = useDebounced(filters);
  const cursor = currentCursor(trail);

  const page = useApi(() => {
    const query = {
      actor: debounced.actor || undefined,
      action: debounced.action || undefined,
      entity_type: debounced.entity_type || undefined,
      entity_id: debounced.entity_id || undefined,
      from: (debounced.from && istInputToUTC(debounced.from)) || undefined,
      to: (debounced.to && istInputToUTC(debounced.to)) || undefined,
      limit: PAGE_SIZE,
      cursor: cursor ?? undefined,
    };
    return unwrap(api.GET("/audit-logs", { params: { query } }));
  }, [debounced, cursor]);

  const set = (name: keyof Filters) => (event: { target: { value: string } }) => {
    setFilters({ ...filters, [name]: event.target.value });
    setTrail(FIRST_PAGE);
  };
  const items = page.data?.items ?? [];
  const filtered = FILTERS.some((name) => filters[name]);

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change, who made it and when — append-only and hash-chained."
      />
      <Card>
        <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <Field label="Actor" hint='e.g. user, user:3, store:1'>
            {(id) => <input id={id} value={filters.actor} onChange={set("actor")} />}
          </Field>
          <Field label="Action">
            {(id) => (
              <input id={id} placeholder="e.g. rule.create" value={filters.action} onChange={set("action")} />
            )}
          </Field>
          <Field label="Entity type">
            {(id) => <input id={id} value={filters.entity_type} onChange={set("entity_type")} />}
          </Field>
          <Field label="Entity id">
            {(id) => <input id={id} value={filters.entity_id} onChange={set("entity_id")} />}
          </Field>
          <Field label="From (IST)">
            {(id) => <input id={id} type="datetime-local" value={filters.from} onChange={set("from")} />}
          </Field>
          <Field label="To (IST)">
            {(id) => <input id={id} type="datetime-local" value={filters.to} onChange={set("to")} />}
          </Field>
          {filtered ? (
            <div className="field field-action">
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() => {
                  setFilters(EMPTY);
                  setTrail(FIRST_PAGE);
                }}
              >
                Clear filters
              </button>
            </div>
          ) : null}
        </form>
        <ErrorBanner message={page.error} onRetry={page.reload} />
        <div className="table-wrap" aria-busy={page.loading}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Time (IST)</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Entity</th>
                <th scope="col" className="right">
                  <span className="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((entry) => (
                <Row key={entry.id} entry={entry} />
              ))}
            </tbody>
          </table>
          {!page.loading && items.length === 0 && !page.error ? (
            <Empty>No audit entries match.</Empty>
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
