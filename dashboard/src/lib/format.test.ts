import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatChange,
  formatCount,
  formatCountCompact,
  formatINR,
  formatINRCompact,
  formatIST,
  formatISTDay,
  formatISTTime,
  formatPercent,
  groupIndian,
  istInputToUTC,
} from "./format";

describe("Indian digit grouping", () => {
  it.each([
    ["0", "0"],
    ["999", "999"],
    ["1000", "1,000"],
    ["99999", "99,999"],
    ["100000", "1,00,000"],
    ["12345678", "1,23,45,678"],
    ["1234567890", "1,23,45,67,890"],
  ])("%s -> %s", (digits, grouped) => expect(groupIndian(digits)).toBe(grouped));
});

describe("formatINR", () => {
  it("groups rupees the Indian way with paise", () => {
    expect(formatINR("12345678")).toBe("₹1,23,45,678.00");
    expect(formatINR("12345678.5")).toBe("₹1,23,45,678.50");
    expect(formatINR(1499)).toBe("₹1,499.00");
  });
  it("rounds half up from the decimal string, carrying into the rupees", () => {
    expect(formatINR("0.005")).toBe("₹0.01");
    expect(formatINR("99999.995")).toBe("₹1,00,000.00");
    expect(formatINR("1.234")).toBe("₹1.23");
  });
  it("keeps precision beyond a double for large decimal strings", () => {
    expect(formatINR("90071992547409931.07")).toBe("₹90,07,19,92,54,74,09,931.07");
  });
  it("handles signs, whole rupees and missing values", () => {
    expect(formatINR("-2500.5")).toBe("-₹2,500.50");
    expect(formatINR("-0.001")).toBe("₹0.00");
    expect(formatINR("1234.56", 0)).toBe("₹1,235");
    expect(formatINR(null)).toBe("—");
  });
  it("refuses what is not a number", () => {
    expect(() => formatINR("12,34")).toThrow(RangeError);
  });
});

describe("compact lakh and crore", () => {
  it.each([
    ["0", "₹0"],
    ["99999", "₹99,999"],
    ["100000", "₹1 L"],
    ["1230000", "₹12.3 L"],
    ["9990000", "₹99.9 L"],
    ["10000000", "₹1 Cr"],
    ["45000000", "₹4.5 Cr"],
    ["123456789012", "₹12,346 Cr"],
    ["-1230000", "-₹12.3 L"],
  ])("%s -> %s", (value, text) => expect(formatINRCompact(value)).toBe(text));

  it("compacts counts too", () => {
    expect(formatCountCompact(54321)).toBe("54,321");
    expect(formatCountCompact(250000)).toBe("2.5 L");
    expect(formatCount(1234567)).toBe("12,34,567");
  });
});

describe("percentages and changes", () => {
  it("formats ratios and signed changes", () => {
    expect(formatPercent(0.0423)).toBe("4.23%");
    expect(formatChange(0.1234)).toBe("+12.3%");
    expect(formatChange(-0.04)).toBe("−4.0%");
    expect(formatChange(0.00001)).toBe("0.0%");
    expect(formatChange(null)).toBe("—");
  });
});

describe("IST", () => {
  it("shows UTC instants in IST (UTC+05:30), across the IST midnight", () => {
    expect(formatIST("2026-11-28T05:08:29Z")).toBe("28 Nov 2026, 10:38 IST");
    expect(formatIST("2026-11-27T18:45:00Z")).toBe("28 Nov 2026, 00:15 IST");
    expect(formatIST("2026-11-27T18:45:07+00:00", true)).toBe("28 Nov 2026, 00:15:07 IST");
    expect(formatISTTime("2026-11-27T18:29:00Z")).toBe("23:59");
    expect(formatISTDay("2026-11-27T18:30:00Z")).toBe("28 Nov");
    expect(formatIST(null)).toBe("—");
  });
  it("reads an IST wall clock back into UTC", () => {
    expect(istInputToUTC("2026-11-28T00:15")).toBe("2026-11-27T18:45:00.000Z");
    expect(istInputToUTC("nonsense")).toBeNull();
  });
  it("says how long ago", () => {
    const now = new Date("2026-11-28T10:00:00Z");
    expect(formatAgo("2026-11-28T09:59:50Z", now)).toBe("just now");
    expect(formatAgo("2026-11-28T09:50:00Z", now)).toBe("10 min ago");
    expect(formatAgo("2026-11-28T07:00:00Z", now)).toBe("3 h ago");
    expect(formatAgo(null, now)).toBe("never");
  });
});
