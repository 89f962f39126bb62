/**
 * Parity with the server's `nba_mlops.court`: the Python test
 * `tests/web/test_court_geometry_parity.py` writes locations with the server's labels to a
 * JSON file and runs this test with COURT_PARITY_FILE pointing at it. Skipped otherwise.
 */
import { readFileSync } from "node:fs";
import { describeShot } from "./geometry";

interface ServerLabel {
  x: number;
  y: number;
  value: number;
  shot_type: string;
  shot_zone_basic: string;
  shot_zone_area: string;
  shot_zone_range: string;
}

const file = process.env.COURT_PARITY_FILE;

describe.skipIf(!file)("parity with nba_mlops.court", () => {
  it("labels every location as the server does", () => {
    const rows = JSON.parse(readFileSync(file!, "utf8")) as ServerLabel[];
    expect(rows.length).toBeGreaterThan(0);
    const mismatches = rows.filter((r) => {
      const s = describeShot({ x: r.x, y: r.y });
      return (
        s.value !== r.value ||
        s.shotType !== r.shot_type ||
        s.zoneBasic !== r.shot_zone_basic ||
        s.zoneArea !== r.shot_zone_area ||
        s.zoneRange !== r.shot_zone_range
      );
    });
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
