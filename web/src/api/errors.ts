import type { FieldError } from "./types";

export type ApiErrorKind =
  | "network"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "validation"
  | "rate_limited"
  | "unavailable"
  | "server"
  | "other";

/** Names a person recognises for the fields the API may complain about. */
const FIELD_LABELS: Record<string, string> = {
  loc_x: "court position (left-right)",
  loc_y: "court position (distance from the baseline)",
  period: "period",
  minutes_remaining: "minutes left",
  seconds_remaining: "seconds left",
  action_type: "shot type",
  shot_type: "2PT/3PT",
  player_id: "player",
  player_name: "player",
  team_name: "team",
  is_home: "home or away",
  season_type: "season type",
  game_date: "game date",
  username: "username",
  password: "password",
  shots: "shots",
  prediction_id: "prediction",
  true_value: "outcome",
  limit: "page size",
  offset: "page",
};

/** The last named part of a field path such as `body.shots.3.loc_x`. */
export function fieldName(path: string | (string | number)[]): string {
  const parts = Array.isArray(path) ? path.map(String) : path.split(/[.\s/[\]]+/);
  const named = parts.filter((p) => p !== "" && !/^\d+$/.test(p) && p !== "body" && p !== "query");
  return named[named.length - 1] ?? parts.join(".");
}

export function fieldLabel(field: string): string {
  const name = fieldName(field);
  return FIELD_LABELS[name] ?? name.replace(/_/g, " ");
}

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  readonly status: number;
  readonly detail: string;
  readonly fields: FieldError[];
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    kind: ApiErrorKind;
    status: number;
    detail: string;
    fields?: FieldError[];
    retryAfterSeconds?: number | null;
  }) {
    super(init.detail);
    this.name = "ApiError";
    this.kind = init.kind;
    this.status = init.status;
    this.detail = init.detail;
    this.fields = init.fields ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }
}

function kindOf(status: number): ApiErrorKind {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 422 || status === 400) return "validation";
  if (status === 429) return "rate_limited";
  // 502/504 come from a proxy in front of an API that is down.
  if (status === 503 || status === 502 || status === 504) return "unavailable";
  if (status >= 500) return "server";
  return "other";
}

/** Seconds from a Retry-After header: either a number of seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

interface ErrorBody {
  detail?: unknown;
  errors?: unknown;
}

/** Field errors from either the documented `errors` list or FastAPI's default `detail` list. */
function fieldErrors(body: ErrorBody): FieldError[] {
  const out: FieldError[] = [];
  if (Array.isArray(body.errors)) {
    for (const e of body.errors) {
      if (e && typeof e === "object") {
        const item = e as { field?: unknown; loc?: unknown; message?: unknown; msg?: unknown };
        const where = item.field ?? item.loc;
        out.push({
          field: fieldName(Array.isArray(where) ? where : String(where ?? "")),
          message: String(item.message ?? item.msg ?? "is not valid"),
        });
      }
    }
  }
  if (out.length === 0 && Array.isArray(body.detail)) {
    for (const e of body.detail) {
      if (e && typeof e === "object") {
        const item = e as { loc?: unknown; msg?: unknown };
        out.push({
          field: fieldName(Array.isArray(item.loc) ? item.loc : String(item.loc ?? "")),
          message: String(item.msg ?? "is not valid"),
        });
      }
    }
  }
  return out;
}

/** Build an ApiError from a non-2xx response. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  let text = "";
  try {
    text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object") body = parsed as ErrorBody;
  } catch {
    // Not JSON (an HTML page from a proxy, say): keep the status alone.
  }
  const fields = fieldErrors(body);
  const detail =
    typeof body.detail === "string" && body.detail.trim() !== ""
      ? body.detail
      : response.statusText || `HTTP ${response.status}`;
  return new ApiError({
    kind: kindOf(response.status),
    status: response.status,
    detail,
    fields,
    retryAfterSeconds: parseRetryAfter(response.headers.get("Retry-After")),
  });
}

export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError({ kind: "network", status: 0, detail });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A sentence for a person, for any error the page can meet. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return error instanceof Error ? error.message : "Something went wrong.";
  }
  switch (error.kind) {
    case "network":
      return "Can't reach the prediction service. Check your connection, or wait a moment if the service is restarting, then try again.";
    case "unauthorized":
      return "Your session has expired or is no longer valid. Please log in again.";
    case "forbidden":
      return "Your account is not allowed to do that.";
    case "validation": {
      if (error.fields.length === 0) return `The request was not accepted: ${error.detail}`;
      const parts = error.fields.map((f) => `${fieldLabel(f.field)}: ${f.message}`);
      return `Please check ${parts.join("; ")}.`;
    }
    case "rate_limited":
      return error.retryAfterSeconds !== null
        ? `Too many attempts. Try again in ${plural(error.retryAfterSeconds, "second")}.`
        : "Too many attempts. Wait a little and try again.";
    case "unavailable":
      return /model/i.test(error.detail)
        ? "No model is loaded yet, so no prediction can be made. Try again once a model has been trained and promoted."
        : error.status === 503
          ? "The service is not ready (its database may be unavailable). Try again in a moment."
          : "The prediction service is not answering. It may be restarting; try again in a moment.";
    case "server":
      return "The service hit an unexpected error. Try again; if it keeps happening, tell the team.";
    default:
      return error.detail;
  }
}

/** The server's own words, when they add something to `describeError` (shown on demand). */
export function technicalDetail(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  if (error.kind === "network") return error.detail || null;
  if (error.kind === "unavailable" || error.kind === "server") {
    return error.status ? `HTTP ${error.status}: ${error.detail}` : error.detail;
  }
  return null;
}
