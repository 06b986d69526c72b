import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { SecretOnce } from "../components/SecretOnce";
import {
  Badge,
  type BadgeTone,
  Card,
  Empty,
  ErrorBanner,
  Field,
  Marketplace,
  MARKETPLACES,
  PageHeader,
  Pager,
} from "../components/ui";
import { formatAgo, formatCount, formatIST } from "../lib/format";
import { currentCursor, FIRST_PAGE, nextTrail, pageNumber, previousTrail } from "../lib/paging";
import { useApi } from "../lib/useApi";

type Platform = Schemas["Platform"];
type Store = Schemas["StoreOut"];
type DeliveryStatus = Schemas["DeliveryStatus"];

const STATUS_TONE: Record<DeliveryStatus, BadgeTone> = {
  received: "info",
  processed: "good",
  duplicate: "neutral",
  quarantined: "bad",
  ignored: "neutral",
};

function StoreRow({ store, onRotated }: { store: Store; onRotated: (secret: Schemas["StoreWithSecret"]) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const url = `${window.location.origin}${store.webhook_path}`;
  const counts = store.deliveries;
  const rotate = async () => {
    if (!window.confirm(`Issue a new secret for ${store.name}? The old one stays valid for a grace period.`)) return;
    setBusy(true);
    setError(undefined);
    try {
      onRotated(
        await unwrap(api.POST("/stores/{store_id}/rotate-secret", { params: { path: { store_id: store.id } } })),
      );
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not rotate the secret.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <article className="store">
      <header className="store-head">
        <div>
          <h3 className="store-name">{store.name}</h3>
          <div className="muted small">
            <Marketplace value={store.platform} /> · {store.auth === "signature" ? "Signed (Standard Webhooks)" : "API key"}
            {store.seller_id ? ` · seller ${store.seller_id}` : ""}
          </div>
        </div>
        <button type="button" className="btn btn-small" onClick={rotate} disabled={busy}>
          Rotate secret
        </button>
      </header>
      <div className="field">
        <label htmlFor={`url-${store.id}`}>Webhook URL</label>
        <input id={`url-${store.id}`} readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <dl className="store-stats">
        <div>
          <dt>Last delivery</dt>
          <dd title={formatIST(store.last_delivery_at)}>{formatAgo(store.last_delivery_at)}</dd>
        </div>
        <div>
          <dt>Processed</dt>
          <dd className="num">{formatCount(counts.processed)}</dd>
        </div>
        <div>
          <dt>Duplicates</dt>
          <dd className="num">{formatCount(counts.duplicate)}</dd>
        </div>
        <div>
          <dt>Quarantined</dt>
          <dd className={`num ${counts.quarantined ? "bad" : ""}`}>{formatCount(counts.quarantined)}</dd>
        </div>
        <div>
          <dt>Rejected</dt>
          <dd className={`num ${counts.rejected ? "bad" : ""}`}>{formatCount(counts.rejected)}</dd>
        </div>
      </dl>
      {store.last_rejection ? (
        <p className="small bad">
          Last rejection {formatAgo(store.last_rejected_at)}: {store.last_rejection}
        </p>
      ) : null}
      {error ? (
        <p className="form-error small" role="alert">
          {error}
        </p>
      ) : null}
    </article>
  );
}

function NewStore({ onCreated }: { onCreated: (created: Schemas["StoreWithSecret"]) => void }) {
  const [platform, setPlatform] = useState<Platform>("myntra");
  const [name, setName] = useState("");
  const [sellerId, setSellerId] = useState("");
  const [auth, setAuth] = useState<Schemas["WebhookAuth"]>("signature");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await unwrap(
        api.POST("/stores", { body: { platform, name, seller_id: sellerId || null, auth } }),
      );
      setName("");
      setSellerId("");
      onCreated(created);
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not create the store.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Connect a store">
      <form className="stack" onSubmit={submit}>
        <Field label="Marketplace">
          {(id) => (
            <select id={id} value={platform} onChange={(e) => setPlatform(e.target.value as Platform)}>
              {MARKETPLACES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Store name">
          {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}
        </Field>
        <Field label="Seller id" hint="Optional: the marketplace's seller or panel id.">
          {(id) => <input id={id} value={sellerId} onChange={(e) => setSellerId(e.target.value)} />}
        </Field>
        <Field label="Authentication">
          {(id) => (
            <select id={id} value={auth} onChange={(e) => setAuth(e.target.value as Schemas["WebhookAuth"])}>
              <option value="signature">Signed deliveries (Standard Webhooks)</option>
              <option value="api_key">API key header (X-Api-Key)</option>
            </select>
          )}
        </Field>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Create store
        </button>
      </form>
    </Card>
  );
}

function Deliveries({ version, onReplayed }: { version: number; onReplayed: () => void }) {
  const [status, setStatus] = useState<DeliveryStatus | "">("quarantined");
  const [trail, setTrail] = useState(FIRST_PAGE);
  const [message, setMessage] = useState<string>();
  const cursor = currentCursor(trail);
  const deliveries = useApi(
    () =>
      unwrap(
        api.GET("/integrations/deliveries", {
          params: { query: { status: status || undefined, limit: 20, cursor: cursor ?? undefined } },
        }),
      ),
    [status, cursor, version],
  );
  const replay = async (id: number) => {
    setMessage(undefined);
    try {
      const receipt = await unwrap(
        api.POST("/integrations/deliveries/{delivery_row_id}/replay", {
          params: { path: { delivery_row_id: id } },
        }),
      );
      setMessage(
        receipt.status === "processed"
          ? `Delivery ${receipt.delivery_id} replayed and applied.`
          : `Delivery ${receipt.delivery_id} is ${receipt.status}${receipt.error ? `: ${receipt.error}` : ""}.`,
      );
      deliveries.reload();
      onReplayed();
    } catch (reason) {
      setMessage(reason instanceof Error ? reason.message : "Replay failed.");
    }
  };
  const items = deliveries.data?.items ?? [];
  return (
    <Card
      title="Deliveries"
      actions={
        <div className="field-inline">
          <label htmlFor="delivery-status" className="small muted">
            Status
          </label>
          <select
            id="delivery-status"
            className="select-inline"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as DeliveryStatus | "");
              setTrail(FIRST_PAGE);
            }}
          >
            <option value="quarantined">Quarantined</option>
            <option value="processed">Processed</option>
            <option value="duplicate">Duplicate</option>
            <option value="ignored">Ignored</option>
            <option value="">All</option>
          </select>
        </div>
      }
    >
      {message ? (
        <div className="banner banner-info" role="status">
          {message}
        </div>
      ) : null}
      <ErrorBanner message={deliveries.error} onRetry={deliveries.reload} />
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Received (IST)</th>
              <th scope="col">Marketplace</th>
              <th scope="col">Delivery</th>
              <th scope="col">Status</th>
              <th scope="col" className="right">
                Records
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td className="small nowrap">{formatIST(d.received_at, true)}</td>
                <td>
                  <Marketplace value={d.platform} />
                  <div className="muted small">{d.kind}</div>
                </td>
                <td className="small">
                  <code>{d.delivery_id.length > 28 ? `${d.delivery_id.slice(0, 28)}…` : d.delivery_id}</code>
                  {d.notification_type ? <div className="muted">{d.notification_type}</div> : null}
                  {d.error ? <div className="bad">{d.error}</div> : null}
                </td>
                <td>
                  <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
                  {d.attempts > 1 ? <div className="muted small">{d.attempts} attempts</div> : null}
                </td>
                <td className="right num">{formatCount(d.records_applied)}</td>
                <td className="right">
                  {d.status === "quarantined" ? (
                    <button type="button" className="btn btn-small" onClick={() => replay(d.id)}>
                      Replay
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 && !deliveries.loading ? (
          <Empty>{status === "quarantined" ? "Nothing quarantined — every delivery was applied." : "No deliveries."}</Empty>
        ) : null}
      </div>
      <Pager
        page={pageNumber(trail)}
        hasPrevious={trail.length > 1}
        hasNext={Boolean(deliveries.data?.next_cursor)}
        onPrevious={() => setTrail(previousTrail(trail))}
        onNext={() => setTrail(nextTrail(trail, deliveries.data?.next_cursor))}
        loading={deliveries.loading}
      />
    </Card>
  );
}

export function IntegrationsPage() {
  const [version, setVersion] = useState(0);
  const [secret, setSecret] = useState<{ title: string; value: string; note?: string }>();
  const stores = useApi(() => unwrap(api.GET("/stores", { params: { query: { limit: 100 } } })), [version]);
  const refresh = () => setVersion((v) => v + 1);
  const items = stores.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Integrations"
        subtitle="Marketplace feeds: where they deliver, how they authenticate, and what arrived."
      />
      {secret ? (
        <SecretOnce title={secret.title} secret={secret.value} note={secret.note} onDismiss={() => setSecret(undefined)} />
      ) : null}
      <ErrorBanner message={stores.error} onRetry={refresh} />
      <div className="grid-main-side">
        <Card title="Stores">
          {items.length === 0 && !stores.loading ? <Empty>No stores yet: connect one.</Empty> : null}
          <div className="stores">
            {items.map((store) => (
              <StoreRow
                key={store.id}
                store={store}
                onRotated={(rotated) => {
                  setSecret({
                    title: `New secret for ${rotated.store.name}`,
                    value: rotated.webhook_secret,
                    note: rotated.old_credentials_expire_at
                      ? `The previous one works until ${formatIST(rotated.old_credentials_expire_at)}.`
                      : undefined,
                  });
                  refresh();
                }}
              />
            ))}
          </div>
        </Card>
        <NewStore
          onCreated={(created) => {
            setSecret({ title: `Secret for ${created.store.name}`, value: created.webhook_secret });
            refresh();
          }}
        />
      </div>
      <div className="section">
        <Deliveries version={version} onReplayed={refresh} />
      </div>
    </>
  );
}
