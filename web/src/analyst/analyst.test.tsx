import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiClient, sessionStore } from "../api/client";
import type { ChartShot, Explanation, ModelQuality, ZoneScope } from "../api/types";
import { ExplanationBars } from "./ExplanationBars";
import { expectedBins } from "./PlayerChart";
import { PlayersView } from "./PlayersView";
import { QualityBySlice } from "./QualityBySlice";
import { ReliabilityDiagram } from "./ReliabilityDiagram";
import { ZoneTable } from "./ZoneTable";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const shot = (over: Partial<ChartShot>): ChartShot => ({
  game_id: 1,
  game_event_id: 1,
  game_date: "2015-10-27",
  season: "2015-16",
  season_type: "Regular Season",
  period: 1,
  minutes_remaining: 10,
  seconds_remaining: 5,
  action_type: "Jump Shot",
  shot_type: "3PT Field Goal",
  zone: "Above the Break 3",
  loc_x: 0,
  loc_y: 250,
  made: 1,
  expected: 0.35,
  ...over,
});

const line = (zone: string, attempts: number) => ({
  zone,
  attempts,
  makes: Math.round(attempts / 2),
  make_rate: 0.5,
  expected_rate: 0.45,
  points_above_expected: 3.25,
  league_attempts: attempts * 100,
  league_make_rate: 0.4,
});

const scope = (kind: ZoneScope["scope"], season: string | null): ZoneScope => ({
  scope: kind,
  season,
  zones: [line("Restricted Area", 10), line("Above the Break 3", 20)],
  total: line("All", 30),
});

const EXPLANATION: Explanation = {
  available: true,
  family: "lightgbm",
  base: -0.1,
  raw_score: -0.6,
  groups: [
    { group: "location", contribution: -0.4, features: [{ feature: "distance_ft", value: 24, contribution: -0.4 }] },
    { group: "shot type", contribution: 0.1, features: [] },
    { group: "clock", contribution: -0.2, features: [] },
    { group: "shooter", contribution: 0.3, features: [] },
    { group: "game context", contribution: -0.3, features: [] },
  ],
};

const QUALITY: ModelQuality = {
  overall: { shots: 100, log_loss: 0.64, ece: 0.03, accuracy: 0.62, mean_predicted: 0.46, make_rate: 0.47 },
  reliability: [
    { bin_low: 0.2, bin_high: 0.3, shots: 40, mean_predicted: 0.27, make_rate: 0.33 },
    { bin_low: 0.3, bin_high: 0.4, shots: 60, mean_predicted: 0.35, make_rate: 0.39 },
    { bin_low: 0.9, bin_high: 1.0, shots: 0, mean_predicted: null, make_rate: null },
  ],
  slices: {
    zone: [{ value: "Mid-Range", shots: 100, log_loss: 0.68, ece: 0.02, accuracy: 0.58, mean_predicted: 0.4, make_rate: 0.42 }],
    period: [
      { value: "Q1", shots: 50, log_loss: 0.65, ece: 0.04, accuracy: 0.6, mean_predicted: 0.46, make_rate: 0.48 },
      { value: "Q4", shots: 50, log_loss: 0.63, ece: 0.03, accuracy: 0.64, mean_predicted: 0.45, make_rate: 0.46 },
    ],
  },
};

describe("zone table", () => {
  it("shows every zone and the total beside the league", () => {
    render(<ZoneTable scope={scope("season", "2015-16")} />);
    const table = screen.getByTestId("zones-season");
    expect(within(table).getByText("Season 2015-16")).toBeTruthy();
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(4); // header, two zones, total
    expect(rows[3]!.textContent).toContain("All");
    expect(rows[1]!.textContent).toContain("50.0%");
    expect(rows[1]!.textContent).toContain("45.0%");
    expect(rows[1]!.textContent).toContain("+3.3");
    expect(rows[1]!.textContent).toContain("40.0%");
  });
});

describe("explanation bars", () => {
  it("draws one bar per group, up or down", () => {
    render(<ExplanationBars explanation={EXPLANATION} />);
    const groups = screen.getAllByTestId("explanation-group");
    expect(groups.map((g) => g.textContent?.split(/[+−]/)[0])).toEqual([
      "location",
      "shot type",
      "clock",
      "shooter",
      "game context",
    ]);
    expect(groups[0]!.querySelector(".is-down")).toBeTruthy();
    expect(groups[3]!.querySelector(".is-up")).toBeTruthy();
    expect(groups[0]!.textContent).toContain("−0.40");
  });

  it("says why when there is none", () => {
    render(
      <ExplanationBars
        explanation={{ available: false, family: "random_forest", reason: "Not available for the random_forest family", groups: [] }}
      />,
    );
    expect(screen.getByTestId("explanation-unavailable").textContent).toContain("random_forest");
  });
});

describe("reliability diagram", () => {
  it("plots one point per filled bin", () => {
    render(<ReliabilityDiagram bins={QUALITY.reliability} title="Holdout" />);
    expect(screen.getAllByTestId("reliability-point")).toHaveLength(2);
    expect(screen.getByRole("img", { name: /predicted against made/ })).toBeTruthy();
  });

  it("switches slices and says when a version has none", async () => {
    const user = userEvent.setup();
    const { unmount } = render(<QualityBySlice quality={QUALITY} />);
    expect(within(screen.getByTestId("slice-table")).getByText("Mid-Range")).toBeTruthy();
    await user.click(screen.getByRole("button", { name: "Period" }));
    expect(within(screen.getByTestId("slice-table")).getAllByRole("row")).toHaveLength(3);
    expect(screen.getByTestId("live-reliability-empty")).toBeTruthy();
    unmount();
    render(<QualityBySlice quality={null} live={QUALITY.reliability} />);
    expect(screen.getByTestId("quality-missing")).toBeTruthy();
    expect(screen.getByRole("img", { name: /Live predictions with a known outcome, 100 shots/ })).toBeTruthy();
  });
});

describe("expected-rate map", () => {
  it("averages the model's expectation per bin", () => {
    const bins = expectedBins([
      shot({ loc_x: 1, loc_y: 1, expected: 0.6 }),
      shot({ loc_x: 2, loc_y: 2, expected: 0.4 }),
      shot({ loc_x: 100, loc_y: 1, expected: 0.3 }),
      shot({ loc_x: 100, loc_y: 1, expected: null }),
    ]);
    expect(bins).toHaveLength(2);
    expect(bins.find((b) => b.x0 === 0)).toMatchObject({ shots: 2, expected: 0.5 });
  });
});

describe("players view", () => {
  it("shows a player's chart and zones, a second player beside, and explains a clicked shot", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const requests: string[] = [];
    const impl = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = String(input);
      requests.push(`${init.method ?? "GET"} ${url}`);
      if (url.startsWith("/players?"))
        return json(200, {
          players: [
            { player_id: 201939, player_name: "Stephen Curry", team_name: "GSW", shots: 900 },
            { player_id: 2544, player_name: "LeBron James", team_name: "CLE", shots: 800 },
          ],
        });
      const zones = url.match(/^\/players\/(\d+)\/zones(\?season=(.*))?$/);
      if (zones) {
        const name = zones[1] === "2544" ? "LeBron James" : "Stephen Curry";
        const season = zones[3] ?? null;
        return json(200, {
          player_id: Number(zones[1]),
          player_name: name,
          model_version: "3",
          seasons: ["2014-15", "2015-16"],
          scopes: [scope("current", "2022-23"), ...(season ? [scope("season", season)] : []), scope("career", null)],
        });
      }
      if (url === "/players/201939/shots/1/2/explanation?season=2015-16")
        return json(200, {
          player_id: 201939,
          game_id: 1,
          game_event_id: 2,
          made: 0,
          expected: 0.35,
          model_version: "3",
          explanation: EXPLANATION,
        });
      if (/^\/players\/\d+\/shots/.test(url))
        return json(200, {
          player_id: 1,
          player_name: "x",
          season: "2015-16",
          model_version: "3",
          total: 2,
          offset: 0,
          limit: 5000,
          next_offset: null,
          shots: [shot({ game_event_id: 1, made: 1 }), shot({ game_event_id: 2, made: 0, loc_x: -100, loc_y: 50 })],
        });
      return json(404, { detail: "Not Found" });
    }) as typeof fetch;
    const user = userEvent.setup();
    render(<PlayersView api={new ApiClient(impl)} />);
    const left = await screen.findByTestId("player-panel-left");
    await waitFor(() => expect(within(left).getByTestId("player-chart")).toBeTruthy());
    expect(within(left).getByTestId("player-summary-left").textContent).toContain("Stephen Curry, 2015-16: 2 shots");
    expect(within(left).getAllByTestId("shot-made")).toHaveLength(1);
    expect(within(left).getAllByTestId("shot-missed")).toHaveLength(1);
    expect(within(left).getByTestId("zones-current")).toBeTruthy();
    expect(within(left).getByTestId("zones-season")).toBeTruthy();
    expect(within(left).getByTestId("zones-career")).toBeTruthy();

    const right = screen.getByTestId("player-panel-right");
    await user.selectOptions(within(right).getByLabelText("Player"), "2544");
    await waitFor(() => expect(within(right).getByTestId("player-summary-right").textContent).toContain("LeBron James"));

    await user.click(within(left).getAllByTestId("shot-missed")[0]!);
    const why = await within(left).findByTestId("why-left");
    await waitFor(() => expect(within(why).getAllByTestId("explanation-group")).toHaveLength(5));
    expect(why.textContent).toContain("Why 35%");
    expect(requests).toContain("GET /players/201939/shots/1/2/explanation?season=2015-16");
    expect(requests.some((r) => r.startsWith("POST /predict"))).toBe(false);
    expect(requests.some((r) => r.startsWith("GET /players/201939/shots?") && r.includes("season=2015-16"))).toBe(true);
  });
});
