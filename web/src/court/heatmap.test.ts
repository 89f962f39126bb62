import { COURT } from "./geometry";
import { colorFor, heatmapGrid, legendTicks, niceDomain, rampColor } from "./heatmap";

describe("heatmapGrid", () => {
  it("covers the half court with 2 ft cells in under 1,000 points", () => {
    const cells = heatmapGrid(2);
    expect(cells.length).toBe(25 * 24);
    const area = cells.reduce((sum, c) => sum + c.width * c.height, 0);
    expect(area).toBeCloseTo((COURT.xMax - COURT.xMin) * (COURT.halfCourtY - COURT.baselineY));
  });

  it("keeps every cell centre on the court", () => {
    for (const step of [1.5, 2, 3]) {
      for (const c of heatmapGrid(step)) {
        expect(c.x).toBeGreaterThanOrEqual(COURT.xMin);
        expect(c.x).toBeLessThanOrEqual(COURT.xMax);
        expect(c.y).toBeGreaterThanOrEqual(COURT.baselineY);
        expect(c.y).toBeLessThanOrEqual(COURT.halfCourtY);
        expect(c.x0 + c.width).toBeLessThanOrEqual(COURT.xMax + 1e-9);
        expect(c.y0 + c.height).toBeLessThanOrEqual(COURT.halfCourtY + 1e-9);
      }
    }
  });

  it("needs two batches at 1.5 ft", () => {
    const n = heatmapGrid(1.5).length;
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThanOrEqual(2000);
  });

  it("marks threes and twos", () => {
    const cells = heatmapGrid(2);
    const nearRim = cells.find((c) => Math.abs(c.x) < 20 && Math.abs(c.y) < 20);
    const deep = cells.find((c) => c.y > 350);
    expect(nearRim?.value).toBe(2);
    expect(deep?.value).toBe(3);
  });

  it("refuses a zero step", () => {
    expect(() => heatmapGrid(0)).toThrow(RangeError);
  });
});

describe("colour scale", () => {
  it("runs from blue to red and clamps", () => {
    expect(rampColor(0)).toBe("rgb(37, 52, 148)");
    expect(rampColor(1)).toBe("rgb(200, 30, 45)");
    expect(rampColor(-3)).toBe(rampColor(0));
    expect(rampColor(7)).toBe(rampColor(1));
    expect(rampColor(Number.NaN)).toBe(rampColor(0));
  });

  it("widens the domain to whole units", () => {
    expect(niceDomain([0.31, 0.62, 0.48], 0.05)).toEqual({ min: 0.3, max: 0.65 });
    expect(niceDomain([], 0.05)).toEqual({ min: 0, max: 0.05 });
    const flat = niceDomain([0.5, 0.5], 0.05);
    expect(flat.max).toBeGreaterThan(flat.min);
  });

  it("colours the domain ends with the ramp ends", () => {
    const d = { min: 0.2, max: 0.7 };
    expect(colorFor(0.2, d)).toBe(rampColor(0));
    expect(colorFor(0.7, d)).toBe(rampColor(1));
  });

  it("puts legend ticks on round values", () => {
    expect(legendTicks({ min: 0, max: 1 })).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(legendTicks({ min: 0, max: 0.7 })).toEqual([0, 0.2, 0.4, 0.6]);
    expect(legendTicks({ min: 0.3, max: 0.65 })).toEqual([0.3, 0.4, 0.5, 0.6]);
    expect(legendTicks({ min: 0.2, max: 1.9 })).toEqual([0.5, 1, 1.5]);
    for (const d of [{ min: 0.25, max: 0.4 }, { min: 0, max: 2.1 }, { min: 0.1, max: 0.15 }]) {
      const ticks = legendTicks(d);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.length).toBeLessThanOrEqual(6);
      for (const t of ticks) {
        expect(t).toBeGreaterThanOrEqual(d.min - 1e-9);
        expect(t).toBeLessThanOrEqual(d.max + 1e-9);
      }
    }
  });
});
