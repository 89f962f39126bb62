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
