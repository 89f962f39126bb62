"""Point-in-time shot history: the one computation behind every context feature.

A shot's context (its shooter's skill and form, the league's expected rate for such a
shot, the opponent's defence, the game so far) is a function of the shots taken before
it, and of nothing else. This module computes it for a frame of shots, starting from a
:class:`HistoryState` that summarises every shot before the frame, and returns the state
after the frame. Training (empty state, the whole store), batch scoring (the state at
the start of the file's first season, then the store's and the file's shots in time
order) and the API (the state after the store's last shot, looked up per request) all
read their context from here, so they cannot disagree.

The state is a set of *tallies*: sums over earlier shots grouped by a key (a shooter,
a shooter and a zone, an opponent and a season, ...). Every tally of a shooter is read
before the shot's *game*, so nothing from the same game leaks into skill; in-game
sequence context is read from the game's earlier events. A shot whose outcome is unknown
(a file without outcomes) is scored but adds nothing to any tally.

The league's expected make rate of a shot comes from the previous ``LEAGUE_SEASONS``
seasons only (by zone, and by zone and action type), so it too is known before the
season starts, and follows the league's drift from season to season.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from nba_mlops.data.schema import TARGET, TEAM_ID_BY_ABBREVIATION

# --- the league's expected rate ------------------------------------------------------------
LEAGUE_SEASONS: Final = 3  # seasons the league tables of a season are drawn from
# Make rate used where the league has no earlier season at all (the NBA's long-run rate).
LEAGUE_DEFAULT_RATE: Final = 0.45
ZONE_SMOOTHING: Final = 200.0  # pseudo-shots at the overall rate, per zone
EXPECTED_SMOOTHING: Final = 50.0  # pseudo-shots at the zone's rate, per (zone, action)

# --- shooter skill ---------------------------------------------------------------------------
RATE_SMOOTHING: Final = 25.0  # pseudo-attempts at the shot's zone rate
EXCESS_SMOOTHING: Final = 100.0  # pseudo-shots of zero excess (career)
SPLIT_EXCESS_SMOOTHING: Final = 50.0  # by zone, action type, season
# Form: makes above expected with each earlier shot's weight halving every this many of
# the shooter's shots (a recency-weighted record, kept as two numbers per shooter).
FORM_HALF_LIFE: Final = 250.0
FORM_SMOOTHING: Final = 50.0
DEFENCE_SMOOTHING: Final = 300.0  # pseudo-shots of average defence, per team and season
OFFENCE_SMOOTHING: Final = 300.0

# Columns of the working frame every tally reads.
_SUMS: Final = ("n", "made", "excess")


@dataclass(frozen=True)
class Tally:
    """Sums of earlier shots' ``n`` (1 per shot with a known outcome), ``made`` and
    ``excess`` grouped by ``keys``; with ``half_life`` each shot's weight halves every
    ``half_life`` later shots of the same group."""

    name: str
    keys: tuple[str, ...]
    half_life: float | None = None

    @property
    def by_season(self) -> bool:
        return "season" in self.keys


TALLIES: Final = (
    Tally("player", ("player",)),
    Tally("player_form", ("player",), half_life=FORM_HALF_LIFE),
    Tally("player_zone", ("player", "zone")),
    Tally("player_action", ("player", "action")),
    Tally("player_season", ("player", "season")),
    Tally("defence", ("opponent", "season")),
    Tally("offence", ("team", "season")),
)
TALLY_BY_NAME: Final = {t.name: t for t in TALLIES}
# Keys that are integers (ids, seasons); the others are text.
INT_KEYS: Final = frozenset({"player", "team", "opponent", "season"})
# Tallies of teams count shots of known teams only.
TEAM_KEYS: Final = frozenset({"team", "opponent"})


# --- the state ---------------------------------------------------------------------------------
@dataclass
class HistoryState:
    """What earlier shots left behind, as *ledgers*.

    ``tallies[name]`` holds one row per key and season the key was seen in: the tally's
    sums after the key's last shot of that season. ``league`` holds each season's shots
    and makes per zone and action type. The state *before* a season keeps, per key, only
    its latest row from earlier seasons (:meth:`before_season`); the ledgers of a whole
    store are therefore checkpoints at the start of every season.
    """

    tallies: dict[str, pd.DataFrame] = field(default_factory=dict)
    league: pd.DataFrame = field(default_factory=lambda: _empty_league())

    @classmethod
    def empty(cls) -> HistoryState:
        return cls({t.name: _empty_tally(t) for t in TALLIES})

    @property
    def seasons(self) -> list[int]:
        return sorted(int(s) for s in self.league["season"].unique())

    def tally(self, name: str) -> pd.DataFrame:
        return self.tallies.get(name, _empty_tally(TALLY_BY_NAME[name]))

    def before_season(self, season: int) -> HistoryState:
        """The state after every shot of the seasons before ``season``: per key, its
        latest row from those seasons (season-keyed tallies start empty)."""
        tallies = {}
        for tally in TALLIES:
            ledger = self.tally(tally.name)
            earlier = ledger[ledger["season_seen"] < season]
            if tally.by_season:
                earlier = earlier.iloc[0:0]
            else:
                earlier = earlier.sort_values("season_seen", kind="stable").drop_duplicates(
                    list(tally.keys), keep="last"
                )
            tallies[tally.name] = earlier.reset_index(drop=True)
        league = self.league[self.league["season"] < season].reset_index(drop=True)
        return HistoryState(tallies, league)

    def latest(self) -> HistoryState:
        """The state after every shot: per key its latest row (season-keyed tallies keep
        the latest season's rows), as the API looks it up."""
        last = max(self.seasons, default=0)
        reduced = self.before_season(last + 1)
        for tally in TALLIES:
            if tally.by_season:
                ledger = self.tally(tally.name)
                reduced.tallies[tally.name] = ledger[ledger["season_seen"] == last].reset_index(
                    drop=True
                )
        return reduced

    def merged(self, later: HistoryState, from_season: int) -> HistoryState:
        """This ledger up to ``from_season`` followed by ``later``'s from it on."""
        tallies = {}
        for tally in TALLIES:
            mine = self.tally(tally.name)
            theirs = later.tally(tally.name)
            tallies[tally.name] = pd.concat(
                [
                    mine[mine["season_seen"] < from_season],
                    theirs[theirs["season_seen"] >= from_season],
                ],
                ignore_index=True,
            )
        league = pd.concat(
            [
                self.league[self.league["season"] < from_season],
                later.league[later.league["season"] >= from_season],
            ],
            ignore_index=True,
        )
        return HistoryState(tallies, league)


def _empty_tally(tally: Tally) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {}
    for key in tally.keys:
        columns[key] = pd.Series(dtype="int64" if key in INT_KEYS else "object")
    columns["season_seen"] = pd.Series(dtype="int64")
    for name in _SUMS:
        columns[name] = pd.Series(dtype="float64")
    return pd.DataFrame(columns)


def _empty_league() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "season": pd.Series(dtype="int64"),
            "zone": pd.Series(dtype="object"),
            "action": pd.Series(dtype="object"),
            "n": pd.Series(dtype="float64"),
            "made": pd.Series(dtype="float64"),
        }
    )


# --- shots in time order -------------------------------------------------------------------
def shot_order(shots: pd.DataFrame) -> np.ndarray:
    """Positions of ``shots`` in the order they happened.

    Game ids grow through a season's schedule and regular-season ids (2...) sort before
    playoff ids (4...), so ``(season, game id)`` orders games even where the date is
    missing; within a game, period, then the clock, then the event id.
    """
    clock = shots["minutes_remaining"].to_numpy("int64") * 60 + shots["seconds_remaining"].to_numpy(
        "int64"
    )
    return np.lexsort(
        (
            shots["game_event_id"].to_numpy("int64"),
            -clock,
            shots["period"].to_numpy("int64"),
            shots["game_id"].to_numpy("int64"),
            shots["season_start_year"].to_numpy("int64"),
        )
    )


def elapsed_seconds(period: np.ndarray, clock: np.ndarray) -> np.ndarray:
    """Seconds since tip-off: four 12-minute quarters, then 5-minute overtimes."""
    regulation = (np.minimum(period, 4) - 1) * 720 + np.where(period <= 4, 720 - clock, 720)
    overtime = np.where(period > 4, (period - 5) * 300 + (300 - clock), 0)
    result: np.ndarray = (regulation + overtime).astype("float64")
    return result


def team_ids(abbreviations: pd.Series) -> np.ndarray:
    """NBA team ids of team abbreviations (-1 where unknown)."""
    codes, uniques = pd.factorize(abbreviations, use_na_sentinel=True)
    ids = np.array([TEAM_ID_BY_ABBREVIATION.get(str(u), -1) for u in uniques] + [-1], "int64")
    result: np.ndarray = ids[codes]  # the sentinel -1 picks the last entry
    return result


def _categories(values: pd.Series) -> pd.Categorical:
    """Text as a categorical (codes stay cheap to group and compare on millions of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = pd.Index(np.asarray(uniques, dtype=object).astype(str), dtype=object)
    return pd.Categorical.from_codes(codes, categories=labels)


def working_frame(shots: pd.DataFrame) -> pd.DataFrame:
    """The columns the history reads, from canonical shots (in the same row order).

    ``made`` is NaN where the outcome is unknown; ``team``/``opponent`` are -1 where the
    file does not say; ``zone`` and ``action`` are categoricals.
    """
    n = len(shots)

    def column(name: str) -> pd.Series:
        if name in shots:
            return shots[name]
        return pd.Series([None] * n, index=shots.index, dtype="object")

    team = pd.to_numeric(column("team_id"), errors="coerce").fillna(-1).to_numpy("int64")
    is_home = pd.to_numeric(column("is_home"), errors="coerce").to_numpy("float64")
    home = team_ids(column("home_team"))
    away = team_ids(column("away_team"))
    opponent = np.where(is_home == 1, away, np.where(is_home == 0, home, -1))
    made = (
        pd.to_numeric(shots[TARGET], errors="coerce").to_numpy("float64")
        if TARGET in shots
        else np.full(n, np.nan)
    )
    shot_type = column("shot_type")
    return pd.DataFrame(
        {
            "season": shots["season_start_year"].to_numpy("int64"),
            "game": shots["game_id"].to_numpy("int64"),
            "event": shots["game_event_id"].to_numpy("int64"),
            "player": shots["player_id"].to_numpy("int64"),
            "team": team,
            "opponent": opponent.astype("int64"),
            "zone": _categories(shots["shot_zone_basic"]),
            "action": _categories(shots["action_type"]),
            "three": (shot_type == "3PT Field Goal").to_numpy(dtype=bool, na_value=False),
            "period": shots["period"].to_numpy("int64"),
            "clock": (
                shots["minutes_remaining"].to_numpy("int64") * 60
                + shots["seconds_remaining"].to_numpy("int64")
            ),
            "distance": np.hypot(
                pd.to_numeric(shots["loc_x"], errors="coerce").to_numpy("float64"),
                pd.to_numeric(shots["loc_y"], errors="coerce").to_numpy("float64"),
            )
            / 10.0,
            "made": made,
        },
        index=shots.index,
    )


# --- league tables ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeagueTable:
    """What an average shooter made, by zone and by zone and action type, over the
    ``LEAGUE_SEASONS`` seasons before one season."""

    overall: float
    zone: Mapping[str, float]
    expected: Mapping[tuple[str, str], float]

    def rates(self, zone: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each shot's zone rate (the prior) and expected rate."""
        prior = np.array([self.zone.get(z, self.overall) for z in zone], dtype="float64")
        expected = np.array(
            [self.expected.get((z, a), p) for z, a, p in zip(zone, action, prior, strict=True)],
            dtype="float64",
        )
        return prior, expected


def league_table(league: pd.DataFrame, season: int) -> LeagueTable:
    """The league table of ``season`` from per-season counts (``HistoryState.league``)."""
    window = league[(league["season"] < season) & (league["season"] >= season - LEAGUE_SEASONS)]
    n_all = float(window["n"].sum())
    overall = float(window["made"].sum()) / n_all if n_all else LEAGUE_DEFAULT_RATE
    by_zone = window.groupby("zone")[["n", "made"]].sum()
    zone_rates = (by_zone["made"] + ZONE_SMOOTHING * overall) / (by_zone["n"] + ZONE_SMOOTHING)
    zone = {str(k): float(v) for k, v in zone_rates.items()}
    pairs = window.groupby(["zone", "action"])[["n", "made"]].sum()
    expected: dict[tuple[str, str], float] = {}
    if len(pairs):
        zone_prior = np.array([zone[str(z)] for z in pairs.index.get_level_values(0)])
        rates = (pairs["made"].to_numpy() + EXPECTED_SMOOTHING * zone_prior) / (
            pairs["n"].to_numpy() + EXPECTED_SMOOTHING
        )
        expected = {
            (str(z), str(a)): float(r) for (z, a), r in zip(pairs.index, rates, strict=True)
        }
    return LeagueTable(overall, zone, expected)


def league_counts(work: pd.DataFrame) -> pd.DataFrame:
    """Each season's shots and makes per zone and action type (known outcomes only)."""
    known = work[~np.isnan(work["made"].to_numpy())]
    counts = (
        known.groupby(["season", "zone", "action"], sort=True, observed=True)["made"]
        .agg(["count", "sum"])
        .reset_index()
        .rename(columns={"count": "n", "sum": "made"})
    )
    counts["n"] = counts["n"].astype("float64")
    result: pd.DataFrame = counts.astype({"season": "int64", "zone": "object", "action": "object"})
    return result


def _add_expected(work: pd.DataFrame, league: pd.DataFrame) -> None:
    """Add each shot's zone rate (``prior``) and expected rate from its season's table."""
    prior = np.empty(len(work))
    expected = np.empty(len(work))
    seasons = work["season"].to_numpy()
    zone = work["zone"].array
    action = work["action"].array
    zone_names = np.asarray(zone.categories, dtype=object)
    action_names = np.asarray(action.categories, dtype=object)
    # one key per (zone, action) pair; a season has ~200k shots but a few hundred pairs
    width = len(action_names) + 1
    pair = (np.asarray(zone.codes, "int64") + 1) * width + (np.asarray(action.codes, "int64") + 1)
    for season in np.unique(seasons):
        rows = np.flatnonzero(seasons == season)
        table = league_table(league, int(season))
        uniques, codes = np.unique(pair[rows], return_inverse=True)
        z = uniques // width - 1
        a = uniques % width - 1
        u_zone = np.array([zone_names[i] if i >= 0 else None for i in z], dtype=object)
        u_action = np.array([action_names[i] if i >= 0 else None for i in a], dtype=object)
        u_prior, u_expected = table.rates(u_zone, u_action)
        prior[rows] = u_prior[codes]
        expected[rows] = u_expected[codes]
    work["prior"] = prior
    work["expected"] = expected


# --- tallies --------------------------------------------------------------------------------
def _tally_values(work: pd.DataFrame, tally: Tally) -> np.ndarray:
    """Per shot: n (1 if its outcome is known and it counts), made, excess."""
    made = work["made"].to_numpy()
    known = ~np.isnan(made)
    if TEAM_KEYS & set(tally.keys):
        for key in TEAM_KEYS & set(tally.keys):
            known &= work[key].to_numpy() >= 0
    made0 = np.where(known, made, 0.0)
    excess = np.where(known, made0 - work["expected"].to_numpy(), 0.0)
    return np.column_stack([known.astype("float64"), made0, excess])


def _run_tally(
    work: pd.DataFrame, tally: Tally, init: pd.DataFrame
) -> tuple[np.ndarray, pd.DataFrame]:
    """The tally's sums before each shot's game (rows in time order), and its ledger
    rows: sums after each key's last shot of each season."""
    keys = list(tally.keys)
    grouped = work.groupby(keys, sort=False, dropna=False, observed=True)
    ids = grouped.ngroup().to_numpy("int64")
    firsts = work.loc[:, keys].iloc[np.unique(ids, return_index=True)[1]].reset_index(drop=True)
    for key in keys:
        if key not in INT_KEYS:  # the ledger keeps text, not this frame's category codes
            firsts[key] = firsts[key].astype("object")
    n_groups = len(firsts)
    start = np.zeros((n_groups, len(_SUMS)))
    if len(init):
        if init.duplicated(keys).any():
            raise ValueError(f"tally {tally.name}: the starting state repeats a key")
        found = firsts.merge(init, on=keys, how="left")
        start = found.loc[:, list(_SUMS)].fillna(0.0).to_numpy("float64")

    values = _tally_values(work, tally)
    order = np.argsort(ids, kind="stable")  # each key's shots together, in time order
    g = ids[order]
    v = values[order]
    game = work["game"].to_numpy()[order]
    season = work["season"].to_numpy()[order]
    m = len(order)
    position = np.arange(m)
    new_group = np.r_[True, g[1:] != g[:-1]] if m else np.zeros(0, dtype=bool)
    new_game = new_group | (np.r_[True, game[1:] != game[:-1]] if m else new_group)
    first_of_group = np.maximum.accumulate(np.where(new_group, position, 0)) if m else position
    first_of_game = np.maximum.accumulate(np.where(new_game, position, 0)) if m else position

    if tally.half_life is None:
        csum = np.vstack([np.zeros((1, v.shape[1])), np.cumsum(v, axis=0)])
        before = csum[position] - csum[first_of_group] + start[g]
        after = before + v
    else:
        # weight of a shot seen k (counted) shots ago: decay**k; with the shot's index
        # j among its key's counted shots, sum_{j<i} decay**(i-1-j) v_j
        # = decay**i * sum_{j<i} decay**-(j+1) v_j, a prefix sum.
        decay = 0.5 ** (1.0 / tally.half_life)
        counted = np.cumsum(v[:, 0])
        base = np.r_[0.0, counted][first_of_group]
        index = np.r_[0.0, counted][position] - base  # counted shots before, per key
        scale = decay ** -(index + 1.0)
        if not np.all(np.isfinite(scale)):
            raise OverflowError(f"tally {tally.name}: a key has too many shots to decay")
        weighted = v * scale[:, None] * v[:, :1]  # uncounted shots weigh nothing
        # a running sum per key (the weights of one key dwarf another's: never mix them)
        prefix = pd.DataFrame(weighted).groupby(g, sort=False).cumsum().to_numpy() - weighted
        before = (decay**index)[:, None] * (start[g] + prefix)
        after = (decay ** (index + v[:, 0]))[:, None] * (start[g] + prefix + weighted)
    at_game = before[first_of_game]
    out = np.empty_like(at_game)
    out[order] = at_game

    # ledger: the sums after each key's last shot of each season
    last_of_season = (
        np.r_[(g[1:] != g[:-1]) | (season[1:] != season[:-1]), True] if m else new_group
    )
    rows = np.flatnonzero(last_of_season)
    ledger = firsts.iloc[g[rows]].reset_index(drop=True)
    ledger["season_seen"] = season[rows]
    for i, name in enumerate(_SUMS):
        ledger[name] = after[rows, i]
    return out, ledger


# --- in-game sequence ------------------------------------------------------------------------
def _sequence(work: pd.DataFrame) -> dict[str, np.ndarray]:
    """Context from the game's earlier shots (rows in time order, whole games so far).

    The shooter's attempts and makes so far and their previous shot; the game's previous
    shot by anyone: how long ago, how many play-by-play events ago (a rebound, a foul, a
    time-out each take an event id), how far out, by the same team or player, made or
    not; and the score margin from field goals so far (free throws are not in the data).
    Values with nothing earlier in the game are -1; values that rest on an earlier
    outcome nobody knows (a file without outcomes) are NaN.
    """
    made = work["made"]
    unknown = made.isna().astype("float64")
    made0 = made.fillna(0.0)
    game = work["game"]
    by_player_game = [work["player"], game]
    own = work.groupby(by_player_game, sort=False)
    attempts = own.cumcount().to_numpy("float64")
    own_unknown = (unknown.groupby(by_player_game, sort=False).cumsum() - unknown).to_numpy()
    prior_makes = (made0.groupby(by_player_game, sort=False).cumsum() - made0).to_numpy()
    prior_makes = np.where(own_unknown > 0, np.nan, prior_makes)
    previous_own = made.groupby(by_player_game, sort=False).shift(1).to_numpy()
    previous_own = np.where(attempts == 0, -1.0, previous_own)
    elapsed = pd.Series(
        elapsed_seconds(work["period"].to_numpy("float64"), work["clock"].to_numpy("float64")),
        index=work.index,
    )
    own_gap = (elapsed - elapsed.groupby(by_player_game, sort=False).shift(1)).to_numpy()
    by_game = work.groupby(game, sort=False)
    first = by_game.cumcount().to_numpy() == 0
    game_gap = (elapsed - elapsed.groupby(game, sort=False).shift(1)).to_numpy()
    event = work["event"].astype("float64")
    event_gap = (event - by_game["event"].shift(1)).to_numpy("float64")
    previous_team = by_game["team"].shift(1).to_numpy("float64")
    previous_player = by_game["player"].shift(1).to_numpy("float64")
    previous_made = made.groupby(game, sort=False).shift(1).to_numpy()
    distance = pd.Series(work["distance"].to_numpy(), index=work.index)
    previous_distance = distance.groupby(game, sort=False).shift(1).to_numpy()
    team = work["team"].to_numpy().astype("float64")
    same_team = np.where((team < 0) | (previous_team < 0), np.nan, previous_team == team)
    same_player = (previous_player == work["player"].to_numpy()).astype("float64")
    points = made0 * np.where(work["three"].to_numpy(), 3.0, 2.0)
    game_points = points.groupby(game, sort=False).cumsum() - points
    team_points = points.groupby([game, work["team"]], sort=False).cumsum() - points
    game_unknown = (unknown.groupby(game, sort=False).cumsum() - unknown).to_numpy()
    margin = np.where(
        (team >= 0) & (game_unknown == 0),
        2 * team_points.to_numpy() - game_points.to_numpy(),
        np.nan,
    )

    def after_first(values: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.where(first, -1.0, values).astype("float64")
        return result

    return {
        "game_prior_attempts": attempts,
        "game_prior_makes": prior_makes,
        "prev_shot_made": previous_own.astype("float64"),
        "seconds_since_own_shot": np.where(attempts == 0, -1.0, np.clip(own_gap, 0, None)),
        "seconds_since_game_shot": after_first(np.clip(game_gap, 0, None)),
        "events_since_game_shot": after_first(event_gap),
        "game_shot_distance": after_first(previous_distance),
        "game_shot_same_team": after_first(same_team),
        "game_shot_same_player": after_first(same_player),
        "game_shot_made": after_first(previous_made),
        "field_goal_margin": margin,
    }


# --- features from sums ------------------------------------------------------------------------
def skill_features(
    sums: Mapping[str, np.ndarray], prior: np.ndarray, expected: np.ndarray
) -> dict[str, np.ndarray]:
    """Context features from tally sums (each an ``(rows, 3)`` array of n, made, excess).

    The one formula for every path: vectorised over rows here, and over the requests of
    a batch in the API."""

    def rate(name: str) -> np.ndarray:
        s = sums[name]
        result: np.ndarray = (s[:, 1] + RATE_SMOOTHING * prior) / (s[:, 0] + RATE_SMOOTHING)
        return result

    def excess(name: str, smoothing: float) -> np.ndarray:
        s = sums[name]
        result: np.ndarray = s[:, 2] / (s[:, 0] + smoothing)
        return result

    return {
        "league_expected": expected,
        "player_prior_attempts": sums["player"][:, 0],
        "player_prior_pct": rate("player"),
        "player_zone_prior_pct": rate("player_zone"),
        "player_action_prior_pct": rate("player_action"),
        "player_season_prior_pct": rate("player_season"),
        "player_prior_excess": excess("player", EXCESS_SMOOTHING),
        "player_recent_excess": excess("player_form", FORM_SMOOTHING),
        "player_zone_excess": excess("player_zone", SPLIT_EXCESS_SMOOTHING),
        "player_action_excess": excess("player_action", SPLIT_EXCESS_SMOOTHING),
        "player_season_excess": excess("player_season", SPLIT_EXCESS_SMOOTHING),
        "opponent_allowed_excess": excess("defence", DEFENCE_SMOOTHING),
        "team_season_excess": excess("offence", OFFENCE_SMOOTHING),
    }


# --- the computation -------------------------------------------------------------------------
def compute_context(
    shots: pd.DataFrame, ledger: HistoryState | None = None
) -> tuple[pd.DataFrame, HistoryState]:
    """Every shot's context (a frame with ``shots``' index), and the ledgers after them.

    ``shots`` are canonical rows in any order: every shot of the seasons they cover, up
    to the last one to score (whole games). ``ledger`` holds every shot before their
    first season (default: none); anything it holds from that season on is replaced by
    what ``shots`` hold.
    """
    everything = ledger or HistoryState.empty()
    first = int(shots["season_start_year"].min()) if len(shots) else 0
    start = everything.before_season(first)
    order = shot_order(shots)
    work = working_frame(shots.iloc[order]).reset_index(drop=True)
    new_league = league_counts(work)
    _add_expected(work, pd.concat([start.league, new_league], ignore_index=True))

    sums: dict[str, np.ndarray] = {}
    ledgers: dict[str, pd.DataFrame] = {}
    for tally in TALLIES:
        init = start.tally(tally.name).drop(columns="season_seen")
        sums[tally.name], ledgers[tally.name] = _run_tally(work, tally, init)
    features = skill_features(sums, work["prior"].to_numpy(), work["expected"].to_numpy())
    unknown_opponent = work["opponent"].to_numpy() < 0
    features["opponent_allowed_excess"] = np.where(
        unknown_opponent, np.nan, features["opponent_allowed_excess"]
    )
    unknown_team = work["team"].to_numpy() < 0
    features["team_season_excess"] = np.where(unknown_team, np.nan, features["team_season_excess"])
    features.update(_sequence(work))

    context = pd.DataFrame(features)
    context.index = shots.index[order]
    context = context.loc[shots.index]
    later = HistoryState(ledgers, new_league)
    return context, everything.merged(later, first)
