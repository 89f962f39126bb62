import { ApiClient, MAX_BATCH, chunk, predictMany, sessionStore } from "./client";
import { ApiError, describeError, fieldLabel, fieldName, parseRetryAfter } from "./errors";
import type { ShotRequest } from "./types";

type Call = { url: string; init: RequestInit };

function fakeFetch(...responses: (Response | Error)[]) {
  const calls: Call[] = [];
  const impl = (async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = responses.shift();
    if (!next) throw new Error("no more fake responses");
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { impl, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });

const shot: ShotRequest = {
  loc_x: 0,
  loc_y: 20,
  period: 1,
  minutes_remaining: 6,
  seconds_remaining: 0,
  action_type: "Jump Shot",
  season_type: "Regular Season",
};

describe("ApiClient", () => {
  it("logs in with a form and keeps the token for the tab", async () => {
    const { impl, calls } = fakeFetch(json(200, { access_token: "abc", token_type: "bearer" }));
    const session = await new ApiClient(impl).login("ann", "secret words");
    expect(session).toEqual({ token: "abc", username: "ann" });
    expect(sessionStore.load()).toEqual({ token: "abc", username: "ann" });
    expect(calls[0]!.url).toBe("/login");
    expect(calls[0]!.init.body).toBe("username=ann&password=secret+words");
    expect((calls[0]!.init.headers as Record<string, string>)["Content-Type"]).toBe(
      "application/x-www-form-urlencoded",
    );
  });

  it("sends the bearer token on relative URLs", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const { impl, calls } = fakeFetch(
      json(200, { prediction: 1, probability: 0.6, model_version: "2", prediction_id: 7 }),
    );
    await new ApiClient(impl).predict(shot);
    expect(calls[0]!.url).toBe("/predict");
    expect(calls[0]!.init.method).toBe("POST");
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual(shot);
  });

  it("ends the session on a 401 and tells the app", async () => {
    sessionStore.save({ token: "expired", username: "ann" });
    const { impl } = fakeFetch(json(401, { detail: "Token expired; log in again" }));
    const client = new ApiClient(impl);
    const seen: ApiError[] = [];
    client.onUnauthorized = (e) => seen.push(e);
    await expect(client.predictions()).rejects.toMatchObject({ kind: "unauthorized", status: 401 });
    expect(seen).toHaveLength(1);
    expect(sessionStore.load()).toBeNull();
  });

  it("does not treat a wrong password as an expired session", async () => {
    const { impl } = fakeFetch(json(401, { detail: "Incorrect username or password" }));
    const client = new ApiClient(impl);
    const onUnauthorized = vi.fn();
    client.onUnauthorized = onUnauthorized;
    await expect(client.login("ann", "nope")).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("names the field of a 422", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const { impl } = fakeFetch(
      json(422, {
        detail: "Invalid request: loc_x: Input should be less than or equal to 250",
        errors: [{ field: "loc_x", message: "Input should be less than or equal to 250" }],
      }),
    );
    const error = await new ApiClient(impl).predict(shot).catch((e: unknown) => e);
    expect(describeError(error)).toBe(
      "Please check court position (left-right): Input should be less than or equal to 250.",
    );
  });

  it("reads Retry-After on a 429", async () => {
    const { impl } = fakeFetch(
      json(429, { detail: "Too many login attempts" }, { "Retry-After": "42" }),
    );
    const error = await new ApiClient(impl).login("ann", "x").catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "rate_limited", retryAfterSeconds: 42 });
    expect(describeError(error)).toBe("Too many attempts. Try again in 42 seconds.");
  });

  it("explains a 503 without a model", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const { impl } = fakeFetch(
      json(503, { detail: "No model is being served: model 'nba-shot-make' has no champion yet" }),
    );
    const error = await new ApiClient(impl).predict(shot).catch((e: unknown) => e);
    expect(describeError(error)).toMatch(/^No model is loaded yet/);
  });

  it("explains an API that cannot be reached", async () => {
    const { impl } = fakeFetch(new TypeError("Failed to fetch"));
    const error = await new ApiClient(impl).currentModel().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "network", status: 0 });
    expect(describeError(error)).toMatch(/^Can't reach the prediction service/);
  });

  it("copes with an HTML error page from a proxy", async () => {
    const { impl } = fakeFetch(new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    const error = await new ApiClient(impl).currentModel().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "unavailable", detail: "Bad Gateway" });
    expect(describeError(error)).toMatch(/not answering/);
  });

  it("asks for players with a limit and an optional search", async () => {
    const { impl, calls } = fakeFetch(json(200, { players: [] }), json(200, { players: [] }));
    const client = new ApiClient(impl);
    await client.players(500);
    await client.players(20, "curry");
    expect(calls.map((c) => c.url)).toEqual(["/players?limit=500", "/players?limit=20&q=curry"]);
  });

  it("posts a verification as 1 or 0", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const { impl, calls } = fakeFetch(json(200, { message: "Prediction_id:5 verified successfully" }));
    await new ApiClient(impl).verify(5, false);
    expect(calls[0]!.url).toBe("/verify_random_prediction");
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ prediction_id: 5, true_value: 0 });
  });
});

describe("batching", () => {
  it("chunks lists", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it("splits a heat map into calls of at most 1,000 shots, in order", async () => {
    sessionStore.save({ token: "tok", username: "ann" });
    const shots = Array.from({ length: 2345 }, (_, i) => ({ ...shot, loc_x: i }));
    const sizes: number[] = [];
    const purposes: string[] = [];
    const impl = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { shots: ShotRequest[]; purpose: string };
      sizes.push(body.shots.length);
      purposes.push(body.purpose);
      return json(200, {
        model_version: "1",
        predictions: body.shots.map((s) => ({
          prediction: 0,
          probability: s.loc_x / 10000,
          model_version: "1",
          prediction_id: s.loc_x,
        })),
      });
    }) as typeof fetch;
    const progress: number[] = [];
    const out = await predictMany(new ApiClient(impl), shots, {
      onProgress: (done) => progress.push(done),
      purpose: "grid",
    });
    expect(sizes).toEqual([MAX_BATCH, MAX_BATCH, 345]);
    expect(purposes).toEqual(["grid", "grid", "grid"]);
    expect(progress).toEqual([1000, 2000, 2345]);
    expect(out.map((p) => p.prediction_id)).toEqual(shots.map((s) => s.loc_x));
  });

  it("refuses an oversized batch before sending it", () => {
    const client = new ApiClient(fakeFetch().impl);
    expect(() => client.predictBatch(Array(MAX_BATCH + 1).fill(shot))).toThrow(RangeError);
  });
});

describe("error helpers", () => {
  it("finds the field name in the API's paths", () => {
    expect(fieldName("shots[3].loc_x")).toBe("loc_x");
    expect(fieldName(["body", "shots", 3, "loc_y"])).toBe("loc_y");
    expect(fieldName("password")).toBe("password");
    expect(fieldLabel("shots[0].minutes_remaining")).toBe("minutes left");
    expect(fieldLabel("something_new")).toBe("something new");
  });

  it("reads Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("5")).toBe(5);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now)).toBe(30);
  });

  it("reads FastAPI's default validation list too", async () => {
    const { impl } = fakeFetch(
      json(422, { detail: [{ loc: ["body", "period"], msg: "Input should be less than or equal to 8" }] }),
    );
    const error = await new ApiClient(impl).signup("ann", "pw").catch((e: unknown) => e);
    expect(describeError(error)).toBe("Please check period: Input should be less than or equal to 8.");
  });
});
