import { describe, expect, it } from "vitest";
import { currentCursor, FIRST_PAGE, nextTrail, pageNumber, previousTrail } from "./paging";

describe("cursor trail", () => {
  it("walks forward and back through server cursors", () => {
    let trail = FIRST_PAGE;
    expect(currentCursor(trail)).toBeNull();
    trail = nextTrail(trail, "c2");
    trail = nextTrail(trail, "c3");
    expect(currentCursor(trail)).toBe("c3");
    expect(pageNumber(trail)).toBe(3);
    trail = previousTrail(trail);
    expect(currentCursor(trail)).toBe("c2");
    expect(previousTrail(previousTrail(trail))).toEqual([null]);
  });
  it("stays on the last page when there is no next cursor", () => {
    expect(nextTrail(["a"], null)).toEqual(["a"]);
  });
});
