import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { Badge, type BadgeTone, Card, Empty, ErrorBanner, Field, PageHeader } from "../components/ui";
import { useAuth } from "../lib/auth";
import { findConflicts } from "../lib/conflicts";
import { formatIST, istInputToUTC } from "../lib/format";
import { useLiveRefresh } from "../lib/liveContext";
import { allows } from "../lib/roles";
import { Link, useLocation } from "../lib/router";
import { useApi } from "../lib/useApi";

type Rule = Schemas["RuleOut"];
type Kind = Schemas["RuleKind"];
type Scope = Schemas["RuleScope"];
type Preview = Schemas["PreviewOut"];

const KIND_TONE: Record<Kind, BadgeTone> = { pin: "accent", boost: "good", demote: "warn", remove: "bad" };
const SCOPE_HINT: Record<Scope, string> = {
  product: "Product id (see Rankings or Products)",
  brand: "Brand, e.g. Biba",
  category: "Category path; subcategories included, e.g. Ethnic Wear > Kurtas",
  marketplace: "amazon, myntra or meesho",
};

function Target({ rule }: { rule: Rule }) {
  if (rule.scope === "product") return <Link to={`/products/${rule.scope_value}`}>Product #{rule.scope_value}</Link>;
  return (
    <>
      <span className="muted small">{rule.scope}</span> {rule.scope_value}
    </>
  );
}

function Effect({ rule }: { rule: Rule }) {
  if (rule.kind === "pin") return <>at position {rule.position ?? 1}</>;
  if (rule.kind === "boost") return <>score × {(1 + (rule.strength ?? 0)).toFixed(2)}</>;
  if (rule.kind === "demote") return <>score ÷ {(1 + (rule.strength ?? 0)).toFixed(2)}</>;
  return <>hidden</>;
}

function PreviewLists({ preview }: { preview: Preview }) {
  const moved = new Map(preview.changes.map((c) => [c.product_id, c]));
  const list = (items: Preview["after"], side: "before" | "after") => (
    <ol className="preview-list">
      {items.map((item) => {
        const change = moved.get(item.product_id);
        const touched = side === "after" && item.rule_ids.includes(0);
        return (
          <li key={`${side}-${item.product_id}`} className={`${change ? "moved" : ""} ${touched ? "touched" : ""}`}>
            <span className="num rank">{item.rank}</span>
            <span className="preview-title">{item.title}</span>
            {side === "after" && change && change.rank_before !== null && change.rank_after !== null ? (
              <span className={change.rank_after < change.rank_before ? "good small" : "bad small"}>
                {change.rank_after < change.rank_before ? "▲" : "▼"} {Math.abs(change.rank_before - change.rank_after)}
              </span>
            ) : null}
            {item.pinned ? <Badge tone="accent">pinned</Badge> : null}
          </li>
        );
      })}
    </ol>
  );
  return (
    <div className="preview" aria-live="polite">
      <div>
        <h3>Now</h3>
        {list(preview.before, "before")}
      </div>
      <div>
        <h3>With this rule</h3>
        {list(preview.after, "after")}
      </div>
      <p className="muted small preview-foot">
        {preview.changes.length} products change rank
        {preview.removed ? `; ${preview.removed} hidden in total` : ""}.
      </p>
    </div>
  );
}

function RuleForm({ onCreated }: { onCreated: () => void }) {
  const { search } = useLocation();
  const [kind, setKind] = useState<Kind>((search.get("kind") as Kind | null) ?? "pin");
  const [scope, setScope] = useState<Scope>("product");
  const [value, setValue] = useState(search.get("product") ?? "");
  const [position, setPosition] = useState("1");
  const [strength, setStrength] = useState("0.5");
  const [priority, setPriority] = useState("0");
  const [from, setFrom] = useState("");
  const [until, setUntil] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string>();
  const [preview, setPreview] = useState<Preview>();
  const [busy, setBusy] = useState(false);

  const body = (): Schemas["RuleCreate"] => ({
    kind,
    scope,
    scope_value: value.trim(),
    position: kind === "pin" ? Number(position) : null,
    strength: kind === "boost" || kind === "demote" ? Number(strength) : null,
    priority: Number(priority),
    enabled: true,
    valid_from: from ? istInputToUTC(from) : null,
    valid_until: until ? istInputToUTC(until) : null,
    reason,
  });
  const run = async (what: "preview" | "create") => {
    setBusy(true);
    setError(undefined);
    try {
      if (what === "preview") {
        setPreview(await unwrap(api.POST("/rules/preview", { body: { ...body(), limit: 15 } })));
      } else {
        await unwrap(api.POST("/rules", { body: body() }));
        setPreview(undefined);
        setValue("");
        setReason("");
        onCreated();
      }
    } catch (reason_) {
      setError(reason_ instanceof Error ? reason_.message : "The request failed.");
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run("create");
  };

  return (
    <Card title="New rule">
      <form className="rule-form" onSubmit={submit}>
        <Field label="Kind">
          {(id) => (
            <select id={id} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              <option value="pin">Pin to a position</option>
              <option value="boost">Boost</option>
              <option value="demote">Demote</option>
              <option value="remove">Remove (hide)</option>
            </select>
          )}
        </Field>
        <Field label="Scope">
          {(id) => (
            <select id={id} value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
              <option value="product">One product</option>
              <option value="brand">Brand</option>
              <option value="category">Category</option>
              <option value="marketplace">Marketplace</option>
            </select>
          )}
        </Field>
        <Field label="Applies to" hint={SCOPE_HINT[scope]}>
          {(id) => <input id={id} value={value} onChange={(e) => setValue(e.target.value)} required />}
        </Field>
        {kind === "pin" ? (
          <Field label="Position">
            {(id) => (
              <input id={id} type="number" min={1} value={position} onChange={(e) => setPosition(e.target.value)} />
            )}
          </Field>
        ) : null}
        {kind === "boost" || kind === "demote" ? (
          <Field label="Strength" hint="0.5 multiplies (or divides) the score by 1.5.">
            {(id) => (
              <input
                id={id}
                type="number"
                min={0.05}
                step={0.05}
                value={strength}
                onChange={(e) => setStrength(e.target.value)}
              />
            )}
          </Field>
        ) : null}
        <Field label="Priority" hint="Higher wins conflicts.">
          {(id) => <input id={id} type="number" value={priority} onChange={(e) => setPriority(e.target.value)} />}
        </Field>
        <Field label="Valid from (IST)">
          {(id) => <input id={id} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />}
        </Field>
        <Field label="Valid until (IST)">
          {(id) => <input id={id} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />}
        </Field>
        <Field label="Reason">
          {(id) => (
            <input id={id} placeholder="e.g. Diwali hero product" value={reason} onChange={(e) => setReason(e.target.value)} />
          )}
        </Field>
        {error ? (
          <p className="form-error rule-form-wide" role="alert">
            {error}
          </p>
        ) : null}
        <div className="rule-form-wide form-actions">
          <button type="button" className="btn" disabled={busy || !value} onClick={() => void run("preview")}>
            Preview
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Create rule
          </button>
        </div>
      </form>
      {preview ? <PreviewLists preview={preview} /> : null}
    </Card>
  );
}

export function RulesPage() {
  const { me } = useAuth();
  const canEdit = allows(me?.role, "merchandiser");
  const rules = useApi(() => unwrap(api.GET("/rules", { params: { query: { limit: 500 } } })), []);
  useLiveRefresh(["rules"], rules.reload, 30_000);
  const [error, setError] = useState<string>();
  const items = rules.data?.items ?? [];
  const conflicts = findConflicts(items);

  const act = async (call: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await call();
      rules.reload();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "The request failed.");
    }
  };
  const toggle = (rule: Rule) =>
    act(() =>
      unwrap(api.PATCH("/rules/{rule_id}", { params: { path: { rule_id: rule.id } }, body: { enabled: !rule.enabled } })),
    );
  const remove = (rule: Rule) => {
    if (!window.confirm(`Delete rule #${rule.id}?`)) return;
    void act(() => unwrap(api.DELETE("/rules/{rule_id}", { params: { path: { rule_id: rule.id } } })));
  };

  return (
    <>
      <PageHeader
        title="Rules"
        subtitle="Merchandising on top of the model: pins, boosts, demotes and removals. Changes apply in the next scoring cycle."
      />
      <ErrorBanner message={error ?? rules.error} onRetry={rules.reload} />
      {canEdit ? <RuleForm onCreated={rules.reload} /> : null}
      <Card title={`Rules (${items.length})`} className="section">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Applies to</th>
                <th scope="col">Effect</th>
                <th scope="col" className="right">
                  Priority
                </th>
                <th scope="col">Schedule (IST)</th>
                <th scope="col">Reason</th>
                <th scope="col">Status</th>
                {canEdit ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((rule) => (
                <tr key={rule.id} className={rule.enabled ? "" : "row-muted"}>
                  <td>
                    <Badge tone={KIND_TONE[rule.kind]}>{rule.kind}</Badge> <span className="muted small">#{rule.id}</span>
                    {conflicts.get(rule.id)?.map((text) => (
                      <div key={text} className="small warn-text">
                        ⚠ {text}
                      </div>
                    ))}
                  </td>
                  <td>
                    <Target rule={rule} />
                  </td>
                  <td className="small">
                    <Effect rule={rule} />
                  </td>
                  <td className="right num">{rule.priority}</td>
                  <td className="small">
                    {rule.valid_from || rule.valid_until ? (
                      <>
                        {rule.valid_from ? `from ${formatIST(rule.valid_from)}` : ""}
                        {rule.valid_until ? (
                          <div>until {formatIST(rule.valid_until)}</div>
                        ) : null}
                      </>
                    ) : (
                      <span className="muted">always</span>
                    )}
                  </td>
                  <td className="small">{rule.reason || <span className="muted">—</span>}</td>
                  <td>{rule.enabled ? <Badge tone="good">Enabled</Badge> : <Badge>Disabled</Badge>}</td>
                  {canEdit ? (
                    <td className="right nowrap">
                      <button type="button" className="btn btn-small" onClick={() => void toggle(rule)}>
                        {rule.enabled ? "Disable" : "Enable"}
                      </button>{" "}
                      <button type="button" className="btn btn-small btn-danger" onClick={() => remove(rule)}>
                        Delete
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && !rules.loading ? <Empty>No rules: the ranking is the model's own.</Empty> : null}
        </div>
      </Card>
    </>
  );
}
