"""Seeds of the property-based tests against the API: a fixed set, so a run under CI is
repeatable, plus one random seed on a developer's machine, printed so that a failure can
be replayed with ``NBA_MLOPS_FUZZ_SEED=<seed>``."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

FIXED_SEEDS = (20261201, 4242)
REPLAY = "NBA_MLOPS_FUZZ_SEED"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def seed_params() -> list[Any]:
    """``pytest.mark.parametrize`` values: the fixed seeds, and "random" off CI (the id
    is fixed, so parallel workers collect the same tests)."""
    params = [pytest.param(seed, id=f"seed-{seed}") for seed in FIXED_SEEDS]
    if not _on_ci() or os.environ.get(REPLAY):
        params.append(pytest.param(None, id="random-seed"))
    return params


def resolve(seed: int | None) -> int:
    """The seed to run: the given one, else ``NBA_MLOPS_FUZZ_SEED``, else a new one."""
    if seed is None:
        seed = int(os.environ.get(REPLAY) or random.SystemRandom().randrange(2**32))
    print(f"hypothesis seed {seed} (replay: {REPLAY}={seed})")
    return seed
