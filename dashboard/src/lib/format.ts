// Indian conventions: ₹ with Indian digit grouping (₹1,23,45,678.00), lakh and crore for compact
// figures (₹12.3 L, ₹4.5 Cr), and every time shown in IST (Asia/Kolkata).

const LAKH = 100_000;
const CRORE = 10_000_000;

/** "12345678" -> "1,23,45,678": the last three digits, then pairs. */
export function groupIndian(digits: string): string {
  if (digits.length <= 3) return digits;
  const head = digits.slice(0, -3).replace(/\B(?=(\d{2})+$)/g, ",");
  return `${head},${digits.slice(-3)}`;
}

type Amount = string | number | null | undefined;

/** Splits an amount (API decimals arrive as strings) into sign, integer digits and a fraction
 * rounded half-up to `decimals` places, without going through a float for strings. */
function decompose(value: string | number, decimals: number): [string, string, string] {
  let text = typeof value === "number" ? value.toFixed(decimals + 2) : value.trim();
  if (!/^[-+]?\d*(\.\d*)?$/.test(text) || text === "" || text === "-" || text === "+") {
    throw new RangeError(`not a decimal amount: ${value}`);
  }
  const sign = text.startsWith("-") ? "-" : "";
  text = text.replace(/^[-+]/, "");
  const [intPart = "0", fracPart = ""] = text.split(".");
  const padded = (fracPart + "0".repeat(decimals + 1)).slice(0, decimals + 1);
  // Round half up on the digit after the kept ones, carrying through integer digits.
  let digits = ((intPart || "0") + padded.slice(0, decimals)).split("").map(Number);
  if (Number(padded[decimals]) >= 5) {
    let at = digits.length - 1;
    while (at >= 0) {
      const next = (digits[at] ?? 0) + 1;
      digits[at] = next % 10;
      if (next < 10) break;
      at -= 1;
    }
    if (at < 0) digits = [1, ...digits];
  }
  const all = digits.join("");
  const integer = all.slice(0, all.length - decimals).replace(/^0+(?=\d)/, "") || "0";
  const fraction = decimals > 0 ? all.slice(all.length - decimals) : "";
  const isZero = /^0*$/.test(integer + fraction);
  return [isZero ? "" : sign, integer, fraction];
}

/** ₹1,23,45,678.00 — the full amount with Indian grouping. */
export function formatINR(value: Amount, decimals = 2): string {
  if (value === null || value === undefined || value === "") return "—";
  const [sign, integer, fraction] = decompose(value, decimals);
  return `${sign}₹${groupIndian(integer)}${fraction ? `.${fraction}` : ""}`;
}

function compactIndian(value: number): string {
  const abs = Math.abs(value);
  const sign = value < 0 ? "-" : "";
  if (abs >= CRORE) return `${sign}${trimDecimal(abs / CRORE, abs >= 1000 * CRORE ? 0 : 1)} Cr`;
  if (abs >= LAKH) return `${sign}${trimDecimal(abs / LAKH, 1)} L`;
  return `${sign}${groupIndian(Math.round(abs).toString())}`;
}

function trimDecimal(value: number, decimals: number): string {
  const [integer = "0", fraction] = value.toFixed(decimals).split(".");
  const grouped = groupIndian(integer);
  return fraction && !/^0+$/.test(fraction) ? `${grouped}.${fraction}` : grouped;
}

/** ₹12.3 L, ₹4.5 Cr, ₹99,999 — for tiles and axes. */
export function formatINRCompact(value: Amount): string {
  if (value === null || value === undefined || value === "") return "—";
  const number = Number(value);
  if (!Number.isFinite(number)) return "—";
  const text = compactIndian(number);
  return text.startsWith("-") ? `-₹${text.slice(1)}` : `₹${text}`;
}

/** 1,23,456 — counts with Indian grouping. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const rounded = Math.round(value);
  return `${rounded < 0 ? "-" : ""}${groupIndian(Math.abs(rounded).toString())}`;
}

/** 12.3 L, 4.5 Cr — counts, compact. */
export function formatCountCompact(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return compactIndian(value);
}

/** A ratio as a percentage: 0.0423 -> "4.23%". */
export function formatPercent(ratio: number | string | null | undefined, decimals = 2): string {
  if (ratio === null || ratio === undefined || ratio === "") return "—";
  const number = Number(ratio);
  if (!Number.isFinite(number)) return "—";
  return `${(number * 100).toFixed(decimals)}%`;
}

/** A relative change: 0.123 -> "+12.3%", -0.04 -> "−4.0%", null (no previous value) -> "new". */
export function formatChange(ratio: number | string | null | undefined): string {
  if (ratio === null || ratio === undefined || ratio === "") return "—";
  const number = Number(ratio);
  if (!Number.isFinite(number)) return "—";
  const percent = (number * 100).toFixed(1);
  if (Number(percent) === 0) return "0.0%";
  return number > 0 ? `+${percent}%` : `−${percent.slice(1)}%`;
}

const IST = "Asia/Kolkata";
const dateTimeParts = new Intl.DateTimeFormat("en-IN", {
  timeZone: IST,
  day: "2-digit",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function partsOf(value: string | Date): Record<string, string> | null {
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return null;
  const parts: Record<string, string> = {};
  for (const part of dateTimeParts.formatToParts(date)) parts[part.type] = part.value;
  return parts;
}

/** "28 Nov 2026, 10:38 IST" */
export function formatIST(value: string | Date | null | undefined, withSeconds = false): string {
  if (!value) return "—";
  const p = partsOf(value);
  if (!p) return "—";
  const time = withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.day} ${p.month} ${p.year}, ${time} IST`;
}

/** "10:38" (IST) — for chart axes with hourly buckets. */
export function formatISTTime(value: string | Date): string {
  const p = partsOf(value);
  return p ? `${p.hour}:${p.minute}` : "—";
}

/** "28 Nov" (IST) — for chart axes with daily buckets. */
export function formatISTDay(value: string | Date): string {
  const p = partsOf(value);
  return p ? `${p.day} ${p.month}` : "—";
}

/** An IST wall-clock "2026-11-28T10:30" (from <input type="datetime-local">) as a UTC ISO string. */
export function istInputToUTC(local: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number];
  const utcMillis = Date.UTC(y, mo - 1, d, h, mi) - (5 * 60 + 30) * 60_000;
  return new Date(utcMillis).toISOString();
}

/** "3 min ago" style, for last-delivery and last-update stamps. */
export function formatAgo(value: string | Date | null | undefined, now: Date = new Date()): string {
  if (!value) return "never";
  const date = typeof value === "string" ? new Date(value) : value;
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (Number.isNaN(seconds)) return "—";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}
