import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { Badge, type BadgeTone, Card, Empty, ErrorBanner, PageHeader } from "../components/ui";
import { useAuth } from "../lib/auth";
import { formatIST } from "../lib/format";
import { useLiveRefresh } from "../lib/liveContext";
import { allows } from "../lib/roles";
import { useApi } from "../lib/useApi";

type Model = Schemas["ModelOut"];
const STATUS_TONE: Record<Schemas["ModelStatus"], BadgeTone> = {
  serving: "good",
  candidate: "info",
  retired: "neutral",
};

/** The headline evaluation numbers a model's metrics carry: NDCG@k and Spearman, when present. */
export function headlineMetrics(metrics: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const ndcg = /^ndcg_at_(\d+)$/.exec(key);
    if (ndcg) out.push([`NDCG@${ndcg[1]}`, value.toFixed(3)]);
    else if (key === "spearman") out.push(["Spearman", value.toFixed(3)]);
  }
  return out;
}

export function ModelsPage() {
  const { me } = useAuth();
  const models = useApi(() => unwrap(api.GET("/models", { params: { query: { limit: 50 } } })), []);
  useLiveRefresh(["model"], models.reload, 60_000);
  const [error, setError] = useState<string>();
  const promote = async (model: Model) => {
    if (!window.confirm(`Serve model ${model.version}? The next scoring cycle uses it.`)) return;
    setError(undefined);
    try {
      await unwrap(api.POST("/models/{version}/promote", { params: { path: { version: model.version } } }));
      models.reload();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not promote.");
    }
  };
  const items = models.data?.items ?? [];
  return (
    <>
      <PageHeader title="Models" subtitle="Every trained model, how it evaluated, and which one serves." />
      <ErrorBanner message={error ?? models.error} onRetry={models.reload} />
      <Card>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Evaluation</th>
                <th scope="col">Trained on (IST)</th>
                <th scope="col">Created</th>
                {allows(me?.role, "admin") ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((model) => (
                <tr key={model.version}>
                  <td>
                    <code>{model.version}</code>
                    <div className="muted small">{model.features.length} features</div>
                  </td>
                  <td>
                    <Badge tone={STATUS_TONE[model.status]}>{model.status}</Badge>
                    {model.promoted_at ? <div className="muted small">since {formatIST(model.promoted_at)}</div> : null}
                  </td>
                  <td className="small">
                    {headlineMetrics(model.metrics).map(([label, value]) => (
                      <div key={label}>
                        {label} <strong className="num">{value}</strong>
                      </div>
                    ))}
                  </td>
                  <td className="small">
                    {formatIST(model.train_from)}
                    <div>→ {formatIST(model.train_to)}</div>
                  </td>
                  <td className="small">{formatIST(model.created_at)}</td>
                  {allows(me?.role, "admin") ? (
                    <td className="right">
                      {model.status !== "serving" ? (
                        <button type="button" className="btn btn-small" onClick={() => void promote(model)}>
                          Promote
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && !models.loading ? <Empty>No model trained yet.</Empty> : null}
        </div>
      </Card>
    </>
  );
}
