import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { AlertItem } from "../components/alerts";
import { Card, Empty, ErrorBanner, PageHeader, Pager } from "../components/ui";
import { useLiveRefresh } from "../lib/liveContext";
import { currentCursor, FIRST_PAGE, nextTrail, pageNumber, previousTrail } from "../lib/paging";
import { useApi } from "../lib/useApi";

type Status = Schemas["AlertStatus"];
const STATUSES: [Status | "", string][] = [
  ["open", "Open"],
  ["acknowledged", "Acknowledged"],
  ["resolved", "Resolved"],
  ["", "All"],
];

export function AlertsPage() {
  const [status, setStatus] = useState<Status | "">("open");
  const [trail, setTrail] = useState(FIRST_PAGE);
  const cursor = currentCursor(trail);
  const alerts = useApi(
    () =>
      unwrap(
        api.GET("/alerts", {
          params: { query: { status: status || undefined, limit: 25, cursor: cursor ?? undefined } },
        }),
      ),
    [status, cursor],
  );
  useLiveRefresh(["alerts"], alerts.reload);
  const items = alerts.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Alerts"
        subtitle="What needs your attention: demand drops, lost ranks, stock running out, failing feeds."
        actions={
          <div className="segmented" role="group" aria-label="Status">
            {STATUSES.map(([value, label]) => (
              <button
                key={label}
                type="button"
                aria-pressed={status === value}
                onClick={() => {
                  setStatus(value);
                  setTrail(FIRST_PAGE);
                }}
              >
                {label}
              </button>
            ))}
          </div>
        }
      />
      <Card>
        <ErrorBanner message={alerts.error} onRetry={alerts.reload} />
        {items.length === 0 && !alerts.loading ? <Empty>No alerts here.</Empty> : null}
        <ul className="alert-list">
          {items.map((alert) => (
            <AlertItem key={alert.id} alert={alert} onChange={alerts.reload} />
          ))}
        </ul>
        <Pager
          page={pageNumber(trail)}
          hasPrevious={trail.length > 1}
          hasNext={Boolean(alerts.data?.next_cursor)}
          onPrevious={() => setTrail(previousTrail(trail))}
          onNext={() => setTrail(nextTrail(trail, alerts.data?.next_cursor))}
          loading={alerts.loading}
        />
      </Card>
    </>
  );
}
