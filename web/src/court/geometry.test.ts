import {
  ARC_CORNER_Y,
  COURT,
  COURT_VIEW,
  clampToCourt,
  courtToPixel,
  describeShot,
  distanceFt,
  expectedPoints,
  isOnHalfCourt,
  pixelToCourt,
  shotType,
  shotValue,
  zoneArea,
  zoneBasic,
  zoneRange,
} from "./geometry";
import labelled from "./nba-labelled-shots.json";

const ft = (feet: number) => feet * 10;

describe("pixel <-> court", () => {
  const size = { width: 640, height: 602 };

  it("maps the view corners to the element corners", () => {
    expect(pixelToCourt({ px: 0, py: 0 }, size)).toEqual({ x: COURT_VIEW.x, y: COURT_VIEW.y });
    const far = pixelToCourt({ px: size.width, py: size.height }, size);
    expect(far.x).toBeCloseTo(COURT_VIEW.x + COURT_VIEW.width);
    expect(far.y).toBeCloseTo(COURT_VIEW.y + COURT_VIEW.height);
  });

  it("puts the basket where the view says", () => {
    const { px, py } = courtToPixel({ x: 0, y: 0 }, size);
    expect(px).toBeCloseTo(size.width / 2);
    expect(py).toBeCloseTo((-COURT_VIEW.y / COURT_VIEW.height) * size.height);
  });

  it.each([
    [0, 0],
    [-250, -47.5],
    [250, 422.5],
    [-137.3, 201.9],
    [220, ARC_CORNER_Y],
  ])("round trips court (%f, %f) through pixels", (x, y) => {
    for (const s of [size, { width: 390, height: 367 }, { width: 1, height: 1 }]) {
      const back = pixelToCourt(courtToPixel({ x, y }, s), s);
      expect(back.x).toBeCloseTo(x, 9);
      expect(back.y).toBeCloseTo(y, 9);
    }
  });

  it("round trips pixels through court units", () => {
    const pixel = { px: 123.4, py: 456.7 };
    const back = courtToPixel(pixelToCourt(pixel, size), size);
    expect(back.px).toBeCloseTo(pixel.px, 9);
    expect(back.py).toBeCloseTo(pixel.py, 9);
  });

  it("clamps to the half court", () => {
    expect(clampToCourt({ x: -400, y: 900 })).toEqual({ x: -250, y: 422.5 });
    expect(clampToCourt({ x: 300, y: -60 })).toEqual({ x: 250, y: -47.5 });
    expect(isOnHalfCourt({ x: 0, y: 0 })).toBe(true);
    expect(isOnHalfCourt({ x: 0, y: 423 })).toBe(false);
    expect(isOnHalfCourt({ x: -251, y: 0 })).toBe(false);
  });
});

describe("distance", () => {
  it("is in feet from the basket", () => {
    expect(distanceFt({ x: 0, y: 0 })).toBe(0);
    expect(distanceFt({ x: 30, y: 40 })).toBeCloseTo(5);
    expect(distanceFt({ x: 0, y: COURT.halfCourtY })).toBeCloseTo(42.25);
  });
});

describe("shot value", () => {
  it("counts a corner three from 22 ft", () => {
    expect(shotValue({ x: ft(22), y: 0 })).toBe(3);
    expect(shotValue({ x: -ft(22), y: 0 })).toBe(3);
    expect(shotValue({ x: ft(22) - 1, y: 0 })).toBe(2);
    expect(shotValue({ x: -ft(21.9), y: 50 })).toBe(2);
  });

  it("counts a three from 23.75 ft on the arc", () => {
    expect(shotValue({ x: 0, y: ft(23.75) })).toBe(3);
    expect(shotValue({ x: 0, y: ft(23.75) - 0.5 })).toBe(2);
    const onArc45 = ft(23.75) / Math.SQRT2;
    expect(shotValue({ x: onArc45 + 0.1, y: onArc45 + 0.1 })).toBe(3);
    expect(shotValue({ x: onArc45 - 0.5, y: onArc45 - 0.5 })).toBe(2);
  });

  it("needs 23.75 ft above the corner straight, not 22 ft", () => {
    // 22.5 ft out at a wing angle: beyond the corner distance but inside the arc.
    expect(shotValue({ x: 160, y: 158 })).toBe(2);
    expect(shotType({ x: 160, y: 158 })).toBe("2PT Field Goal");
  });

  it("meets the arc where the corner straight ends", () => {
    expect(ARC_CORNER_Y).toBeCloseTo(89.48, 2);
    expect(Math.hypot(COURT.cornerX, ARC_CORNER_Y)).toBeCloseTo(COURT.arcRadius);
  });

  it("values a dunk at 2 and a half-court heave at 3", () => {
    expect(shotType({ x: 0, y: 5 })).toBe("2PT Field Goal");
    expect(shotType({ x: 0, y: 420 })).toBe("3PT Field Goal");
  });
});

describe("zones of known points", () => {
  it.each([
    // x, y, basic, area, range
    [0, 0, "Restricted Area", "Center(C)", "Less Than 8 ft."],
    [-20, 30, "Restricted Area", "Center(C)", "Less Than 8 ft."],
    [0, 60, "In The Paint (Non-RA)", "Center(C)", "Less Than 8 ft."],
    [-70, 100, "In The Paint (Non-RA)", "Left Side(L)", "8-16 ft."],
    [70, 100, "In The Paint (Non-RA)", "Right Side(R)", "8-16 ft."],
    [0, 150, "Mid-Range", "Center(C)", "8-16 ft."],
    [-150, 0, "Mid-Range", "Left Side(L)", "8-16 ft."],
    [200, 0, "Mid-Range", "Right Side(R)", "16-24 ft."],
    [-120, 160, "Mid-Range", "Left Side Center(LC)", "16-24 ft."],
    [120, 160, "Mid-Range", "Right Side Center(RC)", "16-24 ft."],
    [0, 200, "Mid-Range", "Center(C)", "16-24 ft."],
    [-230, 0, "Left Corner 3", "Left Side(L)", "24+ ft."],
    [230, 50, "Right Corner 3", "Right Side(R)", "24+ ft."],
    [0, 260, "Above the Break 3", "Center(C)", "24+ ft."],
    [-180, 180, "Above the Break 3", "Left Side Center(LC)", "24+ ft."],
    [180, 180, "Above the Break 3", "Right Side Center(RC)", "24+ ft."],
    [0, 430, "Backcourt", "Back Court(BC)", "Back Court Shot"],
  ] as const)("(%i, %i) is %s / %s / %s", (x, y, basic, area, range) => {
    expect(zoneBasic({ x, y })).toBe(basic);
    expect(zoneArea({ x, y })).toBe(area);
    expect(zoneRange({ x, y })).toBe(range);
  });

  it("follows the stats labels where they differ from the paint", () => {
    // The corner zone ends at y = 87.5 although the corner line runs to y = 89.5.
    expect(zoneBasic({ x: 230, y: 87 })).toBe("Right Corner 3");
    expect(zoneBasic({ x: 230, y: 88 })).toBe("Above the Break 3");
    // The paint zone ends at y = 138.5, short of the free-throw line at 142.5.
    expect(zoneBasic({ x: 0, y: 138 })).toBe("In The Paint (Non-RA)");
    expect(zoneBasic({ x: 0, y: 139 })).toBe("Mid-Range");
    expect(zoneBasic({ x: 80, y: 100 })).toBe("In The Paint (Non-RA)");
    expect(zoneBasic({ x: 81, y: 100 })).toBe("Mid-Range");
    // Long heaves on our half are labelled back court by area and range first.
    expect(zoneArea({ x: 0, y: 400 })).toBe("Back Court(BC)");
    expect(zoneRange({ x: 0, y: 400 })).toBe("Back Court Shot");
    expect(zoneBasic({ x: 0, y: 400 })).toBe("Above the Break 3");
    expect(zoneBasic({ x: 0, y: 420 })).toBe("Backcourt");
  });

  it("keeps the left side on negative x (the shooter's left)", () => {
    expect(zoneBasic({ x: -240, y: 10 })).toBe("Left Corner 3");
    expect(zoneArea({ x: -240, y: 10 })).toBe("Left Side(L)");
  });

  it("agrees with the NBA's own labels on sample shots", () => {
    const rows = labelled as [number, number, string, string, string, string][];
    const agree = { type: 0, basic: 0, area: 0, range: 0 };
    for (const [x, y, type, basic, area, range] of rows) {
      const shot = describeShot({ x, y });
      agree.type += Number(shot.shotType === type);
      agree.basic += Number(shot.zoneBasic === basic);
      agree.area += Number(shot.zoneArea === area);
      agree.range += Number(shot.zoneRange === range);
    }
    for (const count of Object.values(agree)) {
      expect(count / rows.length).toBeGreaterThanOrEqual(0.99);
    }
  });
});

describe("describeShot and expected points", () => {
  it("describes a corner three", () => {
    const shot = describeShot({ x: 225, y: 10 });
    expect(shot.value).toBe(3);
    expect(shot.shotType).toBe("3PT Field Goal");
    expect(shot.distanceFt).toBeCloseTo(22.52, 2);
    expect(shot.zoneBasic).toBe("Right Corner 3");
  });

  it("multiplies probability by the shot value", () => {
    expect(expectedPoints(0.5, 2)).toBe(1);
    expect(expectedPoints(0.4, 3)).toBeCloseTo(1.2);
  });
});
