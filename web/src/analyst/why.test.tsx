import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ExplainedPrediction, ShotRequest } from "../api/types";
import { ResultPanel, type ShotResult } from "../components/ResultPanel";
import { describeShot } from "../court/geometry";

const REQUEST: ShotRequest = {
  loc_x: 0,
  loc_y: 250,
  period: 1,
  minutes_remaining: 6,
  seconds_remaining: 0,
  action_type: "Jump Shot",
  season_type: "Regular Season",
};

const RESULT: ShotResult = {
  shot: describeShot({ x: 0, y: 250 }),
  contextLabel: "Any player",
  prediction: { prediction: 0, probability: 0.36, model_version: "3", prediction_id: 8 },
  error: null,
  loading: false,
  request: REQUEST,
};

describe("why this probability", () => {
  it("asks for the clicked shot's explanation and draws its bars", async () => {
    const asked: ShotRequest[] = [];
    const explained: ExplainedPrediction = {
      ...RESULT.prediction!,
      prediction_id: 9,
      explanation: {
        available: true,
        family: "lightgbm",
        base: -0.1,
        raw_score: -0.5,
        groups: ["location", "shot type", "clock", "shooter", "game context"].map((group, i) => ({
          group,
          contribution: i % 2 ? 0.1 : -0.2,
          features: [],
        })),
      },
    };
    const user = userEvent.setup();
    render(
      <ResultPanel
        result={RESULT}
        onRetry={() => {}}
        onExplain={async (request) => {
          asked.push(request);
          return explained;
        }}
      />,
    );
    await user.click(screen.getByRole("button", { name: "Why this probability?" }));
    const why = screen.getByTestId("result-why");
    expect(await within(why).findAllByTestId("explanation-group")).toHaveLength(5);
    expect(asked).toEqual([REQUEST]);
    expect(within(why).queryByRole("button", { name: "Why this probability?" })).toBeNull();
  });

  it("offers nothing before a prediction", () => {
    render(<ResultPanel result={{ ...RESULT, prediction: null }} onRetry={() => {}} onExplain={async () => { throw new Error("not asked"); }} />);
    expect(screen.queryByTestId("result-why")).toBeNull();
  });
});
