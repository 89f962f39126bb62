import { ApiError, errorFromResponse, networkError } from "./errors";
import type {
  BatchPrediction,
  CurrentModel,
  ExplainedPrediction,
  Player,
  PlayerShots,
  PlayerZones,
  Prediction,
  ShotExplanation,
  PredictionPage,
  ShotRequest,
  Token,
  UnverifiedPrediction,
} from "./types";

/** The largest batch `POST /predict/batch` accepts. */
export const MAX_BATCH = 1000;

const TOKEN_KEY = "nba-mlops.token";
const USER_KEY = "nba-mlops.username";

/** The signed-in user for this tab only (sessionStorage). */
export interface Session {
  token: string;
  username: string;
}

export const sessionStore = {
  load(): Session | null {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    return { token, username: sessionStorage.getItem(USER_KEY) ?? "" };
  },
  save(session: Session): void {
    sessionStorage.setItem(TOKEN_KEY, session.token);
    sessionStorage.setItem(USER_KEY, session.username);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  auth?: boolean;
  signal?: AbortSignal;
}

/**
 * Calls the API on the page's own origin with relative URLs. A 401 on a request that
 * carried the session token clears the session and tells the app (back to log in).
 */
export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  onUnauthorized: (error: ApiError) => void = () => {};

  constructor(fetchImpl?: typeof fetch) {
    this.fetchImpl = fetchImpl ?? ((input, init) => fetch(input, init));
  }

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: BodyInit | undefined;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    const session = options.auth ? sessionStore.load() : null;
    if (session) headers.Authorization = `Bearer ${session.token}`;

    let response: Response;
    try {
      response = await this.fetchImpl(path, {
        method: options.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        body,
        signal: options.signal,
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
      throw networkError(cause);
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      if (error.kind === "unauthorized" && options.auth) {
        sessionStore.clear();
        this.onUnauthorized(error);
      }
      throw error;
    }
    if (response.status === 204) return undefined as T;
    try {
      return (await response.json()) as T;
    } catch (cause) {
      // An HTML page where JSON was expected: a proxy or a page served in the API's place.
      throw new ApiError({
        kind: "server",
        status: response.status,
        detail: `Unexpected response from ${path}: ${String(cause)}`,
      });
    }
  }

  signup(username: string, password: string): Promise<{ id: number; username: string }> {
    return this.request("/signup", { json: { username, password } });
  }

  async login(username: string, password: string): Promise<Session> {
    const token = await this.request<Token>("/login", { form: { username, password } });
    const session = { token: token.access_token, username };
    sessionStore.save(session);
    return session;
  }

  logout(): void {
    sessionStore.clear();
  }

  predict(shot: ShotRequest, signal?: AbortSignal): Promise<Prediction> {
    return this.request("/predict", { json: shot, auth: true, signal });
  }

  /**
   * Score up to MAX_BATCH shots. `purpose: "grid"` marks floor-map cells (the heat map):
   * the server stores them apart, out of history, verification and drift.
   */
  predictBatch(
    shots: ShotRequest[],
    signal?: AbortSignal,
    purpose: PredictionPurpose = "shot",
  ): Promise<BatchPrediction> {
    if (shots.length > MAX_BATCH) throw new RangeError(`At most ${MAX_BATCH} shots per batch`);
    return this.request("/predict/batch", { json: { shots, purpose }, auth: true, signal });
  }

  predictions(limit = 20, offset = 0): Promise<PredictionPage> {
    return this.request(`/predictions?limit=${limit}&offset=${offset}`, { auth: true });
  }

  randomUnverified(): Promise<UnverifiedPrediction> {
    return this.request("/verify_random_prediction", { auth: true });
  }

  verify(predictionId: number, made: boolean): Promise<{ message: string }> {
    return this.request("/verify_random_prediction", {
      json: { prediction_id: predictionId, true_value: made ? 1 : 0 },
      auth: true,
    });
  }

  currentModel(): Promise<CurrentModel> {
    return this.request("/models/current", { auth: true });
  }

  /** Score a shot and say why: the features' contributions, grouped. */
  explain(shot: ShotRequest, signal?: AbortSignal): Promise<ExplainedPrediction> {
    return this.request("/predict?explain=true", { json: shot, auth: true, signal });
  }

  /** A player's stored shots (one season, or the career), at most 5000 per page. */
  playerShots(playerId: number, season?: string | null, limit = 5000, offset = 0): Promise<PlayerShots> {
    const params = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (season) params.set("season", season);
    return this.request(`/players/${playerId}/shots?${params.toString()}`, { auth: true });
  }

  /** Why the model expected what it did of a stored shot (with the shot's own context). */
  shotExplanation(playerId: number, gameId: number, eventId: number, season?: string | null): Promise<ShotExplanation> {
    const params = season ? `?season=${encodeURIComponent(season)}` : "";
    return this.request(`/players/${playerId}/shots/${gameId}/${eventId}/explanation${params}`, { auth: true });
  }

  /** A player's zones: current season, the chosen season and career, beside the league. */
  playerZones(playerId: number, season?: string | null): Promise<PlayerZones> {
    const params = season ? `?season=${encodeURIComponent(season)}` : "";
    return this.request(`/players/${playerId}/zones${params}`, { auth: true });
  }

  async players(limit = 500, query?: string): Promise<Player[]> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (query) params.set("q", query);
    const body = await this.request<{ players: Player[] }>(`/players?${params.toString()}`, {
      auth: true,
    });
    return body.players;
  }
}

/** Why shots are scored: real shots, or the cells of a floor map. */
export type PredictionPurpose = "shot" | "grid";

/** Split a list into chunks of at most `size` items. */
export function chunk<T>(items: T[], size: number): T[][] {
  if (size < 1) throw new RangeError("chunk size must be positive");
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Score any number of shots through `POST /predict/batch`, at most MAX_BATCH per call. */
export async function predictMany(
  api: ApiClient,
  shots: ShotRequest[],
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    purpose?: PredictionPurpose;
  } = {},
): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (const part of chunk(shots, MAX_BATCH)) {
    const result = await api.predictBatch(part, options.signal, options.purpose ?? "shot");
    out.push(...result.predictions);
    options.onProgress?.(out.length, shots.length);
  }
  return out;
}

export const api = new ApiClient();
