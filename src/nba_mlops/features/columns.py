"""Names of the model's input columns: raw shot fields plus their point-in-time context."""

from __future__ import annotations

from typing import Final

from nba_mlops.data.schema import INPUT_COLUMNS

# Raw fields a caller of the API can know about a shot, in the order models take them:
# the shot fields whose role is ``input`` (``data.schema.SHOT_FIELDS``). ``player_id``
# is used only to look up the shooter's skill; it is never a feature itself.
RAW_INPUT_COLUMNS: Final = INPUT_COLUMNS

# Context, computed only from shots taken before this one (``features.history``):
# what an average shooter made from such a shot over the league's last seasons;
LEAGUE_COLUMNS: Final = ("league_expected",)
# the shooter's skill before this game: smoothed make rates (career, by zone, by action
# type, this season), how many shots they rest on, and makes above what the league
# expects from the same shots (career, recency-weighted form, by zone, by action type,
# this season);
SKILL_COLUMNS: Final = (
    "player_prior_attempts",
    "player_prior_pct",
    "player_zone_prior_pct",
    "player_action_prior_pct",
    "player_season_prior_pct",
    "player_prior_excess",
    "player_recent_excess",
    "player_zone_excess",
    "player_action_excess",
    "player_season_excess",
)
# the opponent's defence and the shooter's team's offence this season before this game
# (makes allowed / made above expected, per shot);
TEAM_COLUMNS: Final = ("opponent_allowed_excess", "team_season_excess")
# and the game so far: the shooter's attempts, makes and previous shot; the game's
# previous shot by anyone (how long and how many play-by-play events ago, how far out,
# same team or player, made); the field-goal score margin.
SEQUENCE_COLUMNS: Final = (
    "game_prior_attempts",
    "game_prior_makes",
    "prev_shot_made",
    "seconds_since_own_shot",
    "seconds_since_game_shot",
    "events_since_game_shot",
    "game_shot_distance",
    "game_shot_same_team",
    "game_shot_same_player",
    "game_shot_made",
    "field_goal_margin",
)

CONTEXT_COLUMNS: Final = LEAGUE_COLUMNS + SKILL_COLUMNS + TEAM_COLUMNS + SEQUENCE_COLUMNS
MODEL_INPUT_COLUMNS: Final = RAW_INPUT_COLUMNS + CONTEXT_COLUMNS
