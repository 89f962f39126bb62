import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import { ApiClient, sessionStore } from "./api/client";

type Handler = (body: unknown, init: RequestInit) => Response | Promise<Response>;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

const PLAYERS = {
  players: [
    { player_id: 201939, player_name: "Stephen Curry", team_name: "Golden State Warriors", shots: 812 },
    { player_id: 2544, player_name: "LeBron James", team_name: "Los Angeles Lakers", shots: 640 },
  ],
};

/** A fake API: routes by "METHOD path" (query string dropped); records every request. */
function fakeApi(overrides: Record<string, Handler> = {}) {
  const requests: { route: string; url: string; body: unknown; init: RequestInit }[] = [];
  const routes: Record<string, Handler> = {
    "POST /login": () => json(200, { access_token: "tok", token_type: "bearer" }),
    "POST /signup": () => json(201, { id: 1, username: "ann" }),
    "GET /players": () => json(200, PLAYERS),
    "POST /predict": () => json(200, { prediction: 0, probability: 0.42, model_version: "3", prediction_id: 11 }),
    ...overrides,
  };
  const impl = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const route = `${init.method ?? "GET"} ${url.split("?")[0]}`;
    let body: unknown = init.body;
    if (typeof init.body === "string" && init.body.startsWith("{")) body = JSON.parse(init.body);
    requests.push({ route, url, body, init });
    const handler = routes[route];
    if (!handler) return json(404, { detail: "Not Found" });
    return handler(body, init);
  }) as typeof fetch;
  return { client: new ApiClient(impl), requests };
}

function signIn() {
  sessionStore.save({ token: "tok", username: "ann" });
}

beforeEach(() => {
  window.location.hash = "";
});

describe("signing in", () => {
  it("logs in and shows the court with the players", async () => {
    const { client, requests } = fakeApi();
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.type(screen.getByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "secret words");
    await user.click(screen.getAllByRole("button", { name: "Log in" }).at(-1)!);
    expect(await screen.findByRole("application", { name: /Half court/ })).toBeTruthy();
    expect(screen.getByTestId("signed-in-user").textContent).toBe("ann");
    await waitFor(() => expect(screen.getAllByRole("option", { name: /Stephen Curry/ })).toHaveLength(1));
    expect(requests.map((r) => r.route)).toEqual(["POST /login", "GET /players"]);
    expect(requests[1]!.url).toBe("/players?limit=500");
  });

  it("signs up, then logs in", async () => {
    const { client, requests } = fakeApi();
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    await user.type(screen.getByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "secret words");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await screen.findByRole("application", { name: /Half court/ });
    expect(requests.slice(0, 2).map((r) => r.route)).toEqual(["POST /signup", "POST /login"]);
    expect(requests[0]!.body).toEqual({ username: "ann", password: "secret words" });
  });

  it("says so when the username is taken", async () => {
    const { client } = fakeApi({ "POST /signup": () => json(409, { detail: "Username 'ann' is taken" }) });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    await user.type(screen.getByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "secret words");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect((await screen.findByTestId("auth-error")).textContent).toMatch(/username is taken/);
  });

  it("counts down a 429 before allowing another try", async () => {
    const { client } = fakeApi({
      "POST /login": () => json(429, { detail: "Too many login attempts" }, { "Retry-After": "3" }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.type(screen.getByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "pw");
    const submit = screen.getAllByRole("button", { name: "Log in" }).at(-1)!;
    await user.click(submit);
    const error = await screen.findByTestId("auth-error");
    expect(error.textContent).toMatch(/Too many attempts. Try again in 3 seconds/);
    expect(submit).toHaveProperty("disabled", true);
  });
});

describe("the court", () => {
  it("shoots from the keyboard cursor and shows the result", async () => {
    signIn();
    const { client, requests } = fakeApi();
    const user = userEvent.setup();
    render(<App api={client} />);
    const court = await screen.findByRole("application", { name: /Half court/ });
    court.focus();
    await user.keyboard("{Home}{Shift>}{ArrowDown}{ArrowDown}{/Shift}{ArrowRight}{Enter}");
    expect((await screen.findByTestId("result-probability")).textContent).toBe("42.0%");
    const predict = requests.find((r) => r.route === "POST /predict")!;
    expect(predict.body).toEqual({
      loc_x: 10,
      loc_y: 100,
      period: 1,
      minutes_remaining: 6,
      seconds_remaining: 0,
      action_type: "Jump Shot",
      season_type: "Regular Season",
      is_home: true,
    });
    expect(screen.getByTestId("result-value").textContent).toBe("2PT");
    expect(screen.getByTestId("result-zone").textContent).toBe("In The Paint (Non-RA)");
    expect(screen.getByTestId("result-expected").textContent).toBe("0.84 pts");
    const marker = screen.getByTestId("shot-marker");
    expect(marker.getAttribute("data-probability")).toBe("0.42");
    expect(marker.textContent).toBe("42%");
  });

  it("sends the chosen player and situation", async () => {
    signIn();
    const { client, requests } = fakeApi();
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.type(await screen.findByLabelText("Find a player"), "curry");
    await waitFor(() =>
      expect((screen.getByTestId("player-select") as HTMLSelectElement).value).toBe("201939"),
    );
    await user.selectOptions(screen.getByLabelText("Period"), "5");
    await user.selectOptions(screen.getByLabelText("Shot type"), "Step Back Jump Shot");
    await user.selectOptions(screen.getByLabelText("Season"), "Playoffs");
    await user.click(screen.getByLabelText("Away"));
    screen.getByRole("application", { name: /Half court/ }).focus();
    await user.keyboard("{Enter}");
    await screen.findByTestId("result-probability");
    const body = requests.find((r) => r.route === "POST /predict")!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      player_id: 201939,
      player_name: "Stephen Curry",
      team_name: "Golden State Warriors",
      period: 5,
      minutes_remaining: 5,
      action_type: "Step Back Jump Shot",
      season_type: "Playoffs",
      is_home: false,
    });
  });

  it("explains a missing model", async () => {
    signIn();
    const { client } = fakeApi({
      "POST /predict": () => json(503, { detail: "No model is being served: model 'nba-shot-make' has no champion yet" }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    (await screen.findByRole("application", { name: /Half court/ })).focus();
    await user.keyboard("{Enter}");
    expect((await screen.findByTestId("predict-error")).textContent).toMatch(/No model is loaded yet/);
    expect(screen.queryByTestId("shot-marker")).toBeNull();
  });

  it("sends an expired session back to log in with a message", async () => {
    signIn();
    const { client } = fakeApi({ "POST /predict": () => json(401, { detail: "Token expired; log in again" }) });
    const user = userEvent.setup();
    render(<App api={client} />);
    (await screen.findByRole("application", { name: /Half court/ })).focus();
    await user.keyboard("{Enter}");
    expect((await screen.findByTestId("auth-notice")).textContent).toMatch(/log in again/);
    expect(screen.queryByRole("application")).toBeNull();
    expect(sessionStore.load()).toBeNull();
  });

  it("draws a heat map in batches and toggles expected points", async () => {
    signIn();
    const sizes: number[] = [];
    const purposes: string[] = [];
    const { client } = fakeApi({
      "POST /predict/batch": (body) => {
        const { shots, purpose } = body as { shots: { loc_y: number }[]; purpose: string };
        sizes.push(shots.length);
        purposes.push(purpose);
        return json(200, {
          model_version: "3",
          predictions: shots.map((s, i) => ({
            prediction: 0,
            probability: Math.max(0.05, 0.65 - s.loc_y / 1000),
            model_version: "3",
            prediction_id: i + 1,
          })),
        });
      },
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await screen.findByRole("application", { name: /Half court/ });
    await user.selectOptions(screen.getByLabelText("Grid"), "1.5");
    await user.click(screen.getByTestId("draw-heatmap"));
    const legend = await screen.findByTestId("heatmap-legend");
    expect(sizes).toEqual([1000, 88]);
    expect(purposes).toEqual(["grid", "grid"]); // map cells stay out of history and verify
    expect(document.querySelectorAll("[data-testid=heatmap] rect")).toHaveLength(1088);
    expect(legend.textContent).toMatch(/Make probability/);
    expect(legend.textContent).toMatch(/Best spot: 69% at [\d.]+ ft/);
    await user.click(screen.getByLabelText("Expected points"));
    expect(screen.getByTestId("heatmap-legend").textContent).toMatch(/Expected points per shot/);
  });
});

describe("other sections", () => {
  it("opens the section named in the address and ignores other anchors", async () => {
    signIn();
    window.location.hash = "#model";
    const { client } = fakeApi({ "GET /models/current": () => json(503, { detail: "No model is being served" }) });
    render(<App api={client} />);
    expect((await screen.findByTestId("model-error")).textContent).toMatch(/No model is loaded yet/);
    await act(async () => {
      window.location.hash = "#main";
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    expect(screen.getByTestId("model-error")).toBeTruthy();
  });

  it("lists recent predictions", async () => {
    signIn();
    const { client, requests } = fakeApi({
      "GET /predictions": () =>
        json(200, {
          items: [
            {
              prediction_id: 9,
              probability: 0.613,
              prediction: 1,
              model_version: "3",
              created_at: "2025-11-26T12:00:00Z",
              input: { loc_x: 0, loc_y: 10, action_type: "Dunk Shot", period: 2, minutes_remaining: 3, seconds_remaining: 5 },
              verified_outcome: 1,
            },
          ],
          total: 1,
          limit: 20,
          offset: 0,
        }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(await screen.findByRole("button", { name: "History" }));
    const table = await screen.findByTestId("history-table");
    expect(table.textContent).toMatch(/Dunk Shot/);
    expect(table.textContent).toMatch(/61\.3%/);
    expect(table.textContent).toMatch(/Made/);
    expect(table.textContent).toMatch(/Q2 3:05/);
    expect(requests.find((r) => r.route === "GET /predictions")!.url).toBe("/predictions?limit=20&offset=0");
  });

  it("verifies a random prediction", async () => {
    signIn();
    const { client, requests } = fakeApi({
      "GET /verify_random_prediction": () =>
        json(200, {
          prediction_id: 5,
          model_prediction: 0,
          probability: 0.31,
          date_time: "2025-11-26T12:00:00Z",
          input_parameters: { loc_x: -230, loc_y: 0, action_type: "Jump Shot" },
        }),
      "POST /verify_random_prediction": () => json(200, { message: "Prediction_id:5 verified successfully" }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(await screen.findByRole("button", { name: "Verify" }));
    const card = await screen.findByTestId("verify-card");
    expect(card.textContent).toMatch(/Left Corner 3/);
    await user.click(screen.getByRole("button", { name: "It missed" }));
    expect((await screen.findByTestId("verify-message")).textContent).toMatch(/verified successfully/);
    const post = requests.find((r) => r.route === "POST /verify_random_prediction")!;
    expect(post.body).toEqual({ prediction_id: 5, true_value: 0 });
  });

  it("says when nothing is left to verify", async () => {
    signIn();
    const { client } = fakeApi({
      "GET /verify_random_prediction": () => json(404, { detail: "No unverified predictions left" }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(await screen.findByRole("button", { name: "Verify" }));
    expect((await screen.findByTestId("verify-empty")).textContent).toMatch(/No unverified predictions left/);
  });

  it("shows the model in service", async () => {
    signIn();
    const { client } = fakeApi({
      "GET /models/current": () =>
        json(200, {
          name: "nba-shot-make",
          version: "4",
          metrics: { holdout_log_loss: 0.6512, holdout_roc_auc: 0.661, holdout_accuracy: 0.62, holdout_ece: 0.011 },
          promoted_at: "2025-11-26T12:00:00Z",
        }),
    });
    const user = userEvent.setup();
    render(<App api={client} />);
    await user.click(await screen.findByRole("button", { name: "Model" }));
    expect((await screen.findByTestId("model-version")).textContent).toBe("4");
    expect(screen.getByText("0.6512")).toBeTruthy();
    expect(screen.getByText("62.0%")).toBeTruthy();
  });

  it("tells when the API cannot be reached", async () => {
    signIn();
    const client = new ApiClient((async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch);
    const user = userEvent.setup();
    render(<App api={client} />);
    expect((await screen.findByTestId("players-error")).textContent).toMatch(/Can't reach the prediction service/);
    await user.click(screen.getByRole("button", { name: "Model" }));
    expect((await screen.findByTestId("model-error")).textContent).toMatch(/Can't reach/);
    await act(async () => {});
  });
});
