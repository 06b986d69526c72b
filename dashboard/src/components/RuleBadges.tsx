import type { Schemas } from "../api/client";
import { Badge, type BadgeTone } from "./ui";

const TONE: Record<string, BadgeTone> = { pin: "accent", boost: "good", demote: "warn", remove: "bad" };
const LABEL: Record<string, string> = { pin: "Pinned", boost: "Boosted", demote: "Demoted", remove: "Removed" };

/** One badge per rule kind that touched an item, with the rules in its tooltip. */
export function RuleBadges({ rules }: { rules: Schemas["RuleRef"][] }) {
  const kinds = [...new Set(rules.map((rule) => rule.kind))];
  return (
    <span className="badges">
      {kinds.map((kind) => (
        <span
          key={kind}
          title={rules
            .filter((rule) => rule.kind === kind)
            .map((rule) => `Rule #${rule.id}: ${rule.kind} ${rule.scope} ${rule.scope_value}`)
            .join("\n")}
        >
          <Badge tone={TONE[kind] ?? "neutral"}>{LABEL[kind] ?? kind}</Badge>
        </span>
      ))}
    </span>
  );
}

export function RankChange({ change }: { change: number | null | undefined }) {
  if (change === null || change === undefined) return <span className="muted small">new</span>;
  if (change === 0) return <span className="muted">–</span>;
  return (
    <span className={change > 0 ? "good" : "bad"}>
      <span aria-hidden="true">{change > 0 ? "▲" : "▼"}</span>
      <span className="sr-only">{change > 0 ? "up" : "down"}</span> {Math.abs(change)}
    </span>
  );
}
