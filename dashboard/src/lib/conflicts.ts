// Conflicts between enabled rules that the engine resolves silently (by priority, then scope
// specificity, then recency): worth showing so a merchandiser knows which rule wins.
export type RuleLike = {
  id: number;
  kind: string;
  scope: string;
  scope_value: string;
  position: number | null;
  priority: number;
  enabled: boolean;
};

export function findConflicts(rules: RuleLike[]): Map<number, string[]> {
  const notes = new Map<number, string[]>();
  const note = (id: number, text: string) => notes.set(id, [...(notes.get(id) ?? []), text]);
  const enabled = rules.filter((rule) => rule.enabled);
  const pins = enabled.filter((rule) => rule.kind === "pin");
  const byPosition = new Map<number, RuleLike[]>();
  for (const pin of pins) {
    const position = pin.position ?? 1;
    byPosition.set(position, [...(byPosition.get(position) ?? []), pin]);
  }
  for (const [position, group] of byPosition) {
    if (group.length < 2) continue;
    for (const rule of group) {
      const others = group.filter((other) => other.id !== rule.id).map((other) => `#${other.id}`);
      note(rule.id, `Also pinned at position ${position}: ${others.join(", ")}`);
    }
  }
  const target = (rule: RuleLike) => `${rule.scope}:${rule.scope_value}`;
  for (const pin of pins) {
    for (const remove of enabled.filter((r) => r.kind === "remove" && target(r) === target(pin))) {
      note(pin.id, `Rule #${remove.id} removes the same ${pin.scope}`);
      note(remove.id, `Rule #${pin.id} pins the same ${pin.scope}`);
    }
  }
  const directional = enabled.filter((r) => r.kind === "boost" || r.kind === "demote");
  for (const a of directional) {
    for (const b of directional) {
      if (a.id !== b.id && a.kind !== b.kind && target(a) === target(b)) {
        note(a.id, `Rule #${b.id} ${b.kind}s the same ${a.scope}`);
      }
    }
  }
  return notes;
}
