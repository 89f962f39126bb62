"""Names of the model's input columns: raw shot fields plus optional context."""

from __future__ import annotations

from typing import Final

# Raw fields a caller of the API can know about a shot. ``player_id`` is used only to look
# up the shooter's skill; it is never a feature itself.
RAW_INPUT_COLUMNS: Final = (
    "loc_x",
    "loc_y",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "action_type",
    "shot_type",
    "shot_zone_basic",
    "shot_zone_area",
    "shot_zone_range",
    "player_id",
    "is_home",
    "season_type",
    "season_start_year",
)

# Shooter skill before this game: smoothed make rates (career, by zone, by action type,
# this season), how many shots they rest on, and makes above what an average shooter
# makes from the same shots (career, and recent form over the last few hundred shots).
SKILL_COLUMNS: Final = (
    "player_prior_attempts",
    "player_prior_pct",
    "player_zone_prior_pct",
    "player_action_prior_pct",
    "player_season_prior_pct",
    "player_prior_excess",
    "player_recent_excess",
)

# In-game sequence context known before the shot: the shooter's attempts and makes so far
# in this game and whether their previous shot went in; and the game's previous shot by
# anyone: how long ago, by the same team or not, made or not (a quick shot after the
# same team's miss is a put-back, after the other team's miss often a fast break); and
# the opponent's defence this season before this game: makes allowed above what the
# shots' zones predict, per shot.
SEQUENCE_COLUMNS: Final = (
    "game_prior_attempts",
    "game_prior_makes",
    "prev_shot_made",
    "seconds_since_game_shot",
    "game_shot_same_team",
    "game_shot_made",
    "opponent_allowed_excess",
)

CONTEXT_COLUMNS: Final = SKILL_COLUMNS + SEQUENCE_COLUMNS
MODEL_INPUT_COLUMNS: Final = RAW_INPUT_COLUMNS + CONTEXT_COLUMNS
