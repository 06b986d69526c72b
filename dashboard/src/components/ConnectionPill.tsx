import type { LiveState } from "../lib/live";
import { useLiveState } from "../lib/liveContext";

const TEXT: Record<LiveState, [string, string]> = {
  connecting: ["Connecting…", "Opening the live connection."],
  live: ["Live", "Updates arrive as they happen."],
  reconnecting: ["Reconnecting…", "The live connection dropped; retrying. Data refreshes meanwhile."],
  polling: ["Auto-refresh", "Live updates are unavailable; data refreshes every 15 seconds."],
};

export function ConnectionPill() {
  const state = useLiveState();
  const [text, title] = TEXT[state];
  return (
    <span className={`pill pill-${state}`} title={title} role="status" aria-live="polite">
      <span className="pill-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
