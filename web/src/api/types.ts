/** Request and response shapes of the nba-mlops API, as the page uses them. */

export type SeasonType = "Regular Season" | "Playoffs";

/** One shot to score: raw canonical fields; the server derives zones and shot type. */
export interface ShotRequest {
  loc_x: number;
  loc_y: number;
  period: number;
  minutes_remaining: number;
  seconds_remaining: number;
  action_type: string;
  shot_type?: string;
  player_id?: number;
  player_name?: string;
  team_name?: string;
  is_home?: boolean;
  season_type: SeasonType;
  game_date?: string;
}

export interface Prediction {
  prediction: 0 | 1;
  probability: number;
  model_version: string;
  prediction_id: number;
}

export interface BatchPrediction {
  predictions: Prediction[];
  model_version: string;
}

export interface StoredPrediction {
  prediction_id: number;
  probability: number;
  prediction: 0 | 1;
  model_version: string;
  created_at: string;
  input: Partial<ShotRequest> & Record<string, unknown>;
  verified_outcome: 0 | 1 | null;
}

export interface PredictionPage {
  items: StoredPrediction[];
  total: number;
  limit: number;
  offset: number;
}

export interface UnverifiedPrediction {
  prediction_id: number;
  model_prediction: 0 | 1;
  probability: number;
  date_time: string;
  input_parameters: Partial<ShotRequest> & Record<string, unknown>;
}

export interface ModelMetrics {
  holdout_log_loss?: number;
  holdout_roc_auc?: number;
  holdout_accuracy?: number;
  holdout_brier?: number;
  holdout_ece?: number;
  [name: string]: number | undefined;
}

export interface CurrentModel {
  name: string;
  version: string | number;
  metrics: ModelMetrics;
  promoted_at: string | null;
  quality?: ModelQuality | null;
  live_reliability?: ReliabilityBin[] | null;
}

export interface Player {
  player_id: number;
  player_name: string;
  team_name: string | null;
  shots: number | null;
}

export interface Token {
  access_token: string;
  token_type: string;
}

export interface FieldError {
  field: string;
  message: string;
}

/** Quality by slice of the champion's holdout, and its reliability diagram's bins. */
export interface SliceFigures {
  value?: string | null;
  shots: number;
  log_loss: number;
  ece: number;
  accuracy: number;
  mean_predicted: number;
  make_rate: number;
}

export interface ReliabilityBin {
  bin_low: number;
  bin_high: number;
  shots: number;
  mean_predicted: number | null;
  make_rate: number | null;
}

export interface ModelQuality {
  overall: SliceFigures;
  reliability: ReliabilityBin[];
  slices: Record<string, SliceFigures[]>;
}

/** One of a player's stored shots, with the model's make probability for it. */
export interface ChartShot {
  game_id: number;
  game_event_id: number;
  game_date: string | null;
  season: string;
  season_type: SeasonType;
  period: number;
  minutes_remaining: number;
  seconds_remaining: number;
  action_type: string;
  shot_type: string;
  zone: string;
  loc_x: number;
  loc_y: number;
  made: 0 | 1;
  expected: number | null;
}

export interface PlayerShots {
  player_id: number;
  player_name: string;
  season: string | null;
  model_version: string | null;
  total: number;
  offset: number;
  limit: number;
  next_offset: number | null;
  shots: ChartShot[];
}

export interface ZoneLine {
  zone: string;
  attempts: number;
  makes: number;
  make_rate: number | null;
  expected_rate: number | null;
  points_above_expected: number | null;
  league_attempts: number;
  league_make_rate: number | null;
}

export interface ZoneScope {
  scope: "current" | "season" | "career";
  season: string | null;
  zones: ZoneLine[];
  total: ZoneLine;
}

export interface PlayerZones {
  player_id: number;
  player_name: string;
  model_version: string | null;
  seasons: string[];
  scopes: ZoneScope[];
}

export interface FeatureContribution {
  feature: string;
  value: number | string | null;
  contribution: number;
}

export interface GroupContribution {
  group: string;
  contribution: number;
  features: FeatureContribution[];
}

export interface Explanation {
  available: boolean;
  family: string;
  reason?: string | null;
  base?: number | null;
  raw_score?: number | null;
  groups: GroupContribution[];
}

export interface ExplainedPrediction extends Prediction {
  explanation: Explanation;
}

/** Why the model expected what it did of one of a player's stored shots. */
export interface ShotExplanation {
  player_id: number;
  game_id: number;
  game_event_id: number;
  made: 0 | 1;
  expected: number | null;
  model_version: string | null;
  explanation: Explanation;
}
