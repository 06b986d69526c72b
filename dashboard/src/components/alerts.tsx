import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { useAuth } from "../lib/auth";
import { formatAgo, formatIST } from "../lib/format";
import { allows } from "../lib/roles";
import { Link } from "../lib/router";
import { Badge, type BadgeTone } from "./ui";

type Alert = Schemas["AlertOut"];

export function severityTone(severity: string): BadgeTone {
  if (severity === "critical" || severity === "error" || severity === "high") return "bad";
  if (severity === "warning" || severity === "medium") return "warn";
  return "info";
}

const KIND_LABEL: Record<string, string> = {
  ctr_drop: "CTR drop",
  conversion_drop: "Conversion drop",
  rank_drop: "Rank drop",
  low_stock: "Low stock",
  top_product_out_of_stock: "Top product out of stock",
  scoring_failed: "Scoring failing",
  model_promoted: "Model promoted",
  deliveries_quarantined: "Deliveries quarantined",
};

export function kindLabel(kind: string): string {
  return KIND_LABEL[kind] ?? kind.replaceAll("_", " ");
}

/** One alert with its acknowledge button (offered to merchandisers and admins only). */
export function AlertItem({ alert, onChange }: { alert: Alert; onChange: () => void }) {
  const { me } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const ack = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST("/alerts/{alert_id}/ack", { params: { path: { alert_id: alert.id } } }));
      onChange();
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : "Could not acknowledge.");
    } finally {
      setBusy(false);
    }
  };
  const product = alert.subject_type === "product" && alert.subject_id ? Number(alert.subject_id) : null;
  return (
    <li className={`alert-item alert-${severityTone(alert.severity)}`}>
      <div className="alert-body">
        <div className="alert-title">
          <Badge tone={severityTone(alert.severity)}>{alert.severity}</Badge>
          <strong>{kindLabel(alert.kind)}</strong>
          {alert.status !== "open" ? <Badge>{alert.status}</Badge> : null}
        </div>
        <p>{alert.message}</p>
        <div className="muted small">
          <span title={formatIST(alert.created_at)}>{formatAgo(alert.created_at)}</span>
          {product ? (
            <>
              {" · "}
              <Link to={`/products/${product}`}>View product</Link>
            </>
          ) : null}
          {alert.acknowledged_at ? ` · acknowledged ${formatIST(alert.acknowledged_at)}` : ""}
        </div>
        {error ? (
          <p className="form-error small" role="alert">
            {error}
          </p>
        ) : null}
      </div>
      {alert.status === "open" && allows(me?.role, "merchandiser") ? (
        <button type="button" className="btn btn-small" onClick={ack} disabled={busy}>
          Acknowledge
        </button>
      ) : null}
    </li>
  );
}
