import { describe, expect, it } from "vitest";
import { allows } from "./roles";
import { matchPath } from "./router";

describe("roles", () => {
  it("orders viewer < merchandiser < admin like the server", () => {
    expect(allows("viewer", "viewer")).toBe(true);
    expect(allows("viewer", "merchandiser")).toBe(false);
    expect(allows("merchandiser", "merchandiser")).toBe(true);
    expect(allows("merchandiser", "admin")).toBe(false);
    expect(allows("admin", "merchandiser")).toBe(true);
    expect(allows(undefined, "viewer")).toBe(false);
  });
});

describe("matchPath", () => {
  it("extracts parameters and refuses other shapes", () => {
    expect(matchPath("/products/:id", "/products/42")).toEqual({ id: "42" });
    expect(matchPath("/products/:id", "/products")).toBeNull();
    expect(matchPath("/audit", "/audit")).toEqual({});
    expect(matchPath("/audit", "/alerts")).toBeNull();
  });
});
