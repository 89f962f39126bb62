"""The reliability of live predictions: predicted against made, once outcomes arrive.

Outcomes come from the data (``shot_outcomes``) or from a person's verification, as
everywhere else (``db.verification``). Binned in the database (ten equal-width bins of
the probability) so that the answer costs one grouped query whatever the count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, case, cast, func, select

from nba_mlops.db.models import PURPOSE_SHOT, Prediction
from nba_mlops.db.session import Database
from nba_mlops.db.verification import OUTCOME, with_outcomes
from nba_mlops.log import get_logger
from nba_mlops.training.slices import RELIABILITY_BINS

logger = get_logger(__name__)


def live_reliability(db: Database, version: str) -> list[dict[str, Any]] | None:
    """Ten bins of the shots predicted by ``version`` whose outcome is known (None when
    the database cannot answer)."""
    p = Prediction.probability
    bin_of = case(
        *((p < (b + 1) / RELIABILITY_BINS, b) for b in range(RELIABILITY_BINS - 1)),
        else_=RELIABILITY_BINS - 1,
    ).label("bin")
    statement = with_outcomes(
        select(bin_of, func.count(), func.sum(p), func.sum(cast(OUTCOME, Float)))
    ).where(
        Prediction.model_version == version,
        Prediction.purpose == PURPOSE_SHOT,
        OUTCOME.is_not(None),
    )
    try:
        with db.sessions() as session:
            rows = session.execute(statement.group_by(bin_of)).all()
    except Exception as exc:  # the model's facts still answer without the database
        logger.warning("live reliability unavailable: %s", exc)
        return None
    found = {int(b): (int(n), float(sp or 0.0), float(sy or 0.0)) for b, n, sp, sy in rows}
    out = []
    for b in range(RELIABILITY_BINS):
        n, sum_p, sum_y = found.get(b, (0, 0.0, 0.0))
        out.append(
            {
                "bin_low": round(b / RELIABILITY_BINS, 3),
                "bin_high": round((b + 1) / RELIABILITY_BINS, 3),
                "shots": n,
                "mean_predicted": round(sum_p / n, 5) if n else None,
                "make_rate": round(sum_y / n, 5) if n else None,
            }
        )
    return out
