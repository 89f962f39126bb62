"""The HTML monitoring report: one self-contained file with every feature and plots."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from nba_mlops.monitoring.drift import FEATURES
from nba_mlops.monitoring.quality import (
    live_quality_by_day,
    live_quality_by_version,
    prediction_distribution,
)
from nba_mlops.monitoring.report import render_drift_report

ShotFactory = Callable[..., pd.DataFrame]


def predictions() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    probability = rng.uniform(0.05, 0.95, 600)
    return pd.DataFrame(
        {
            "model_version": np.where(np.arange(600) < 250, "1", "2"),
            "probability": probability,
            "verified_outcome": np.where(
                rng.random(600) < 0.7, (rng.random(600) < probability).astype(float), np.nan
            ),
        }
    )


def test_report_is_written_with_every_feature_and_plots(
    tmp_path: Path, make_shots: ShotFactory
) -> None:
    reference = make_shots(2000, seed=1)
    recent = make_shots(500, seed=2)
    recent["loc_y"] = recent["loc_y"] + 80
    frame = predictions()
    out = render_drift_report(
        reference,
        recent,
        live_quality_by_version(frame, window=200),
        prediction_distribution(frame),
        tmp_path / "reports" / "monitoring.html",
    )
    assert out == tmp_path / "reports" / "monitoring.html"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for feature in FEATURES:
        assert feature in page
    images = re.findall(r'<img alt="plot" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(FEATURES) + 1  # one per feature, one for the versions
    assert "drift" in page and "model version" in page
    # self-contained: nothing fetched from elsewhere
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_report_with_too_few_recent_shots_says_so(tmp_path: Path, make_shots: ShotFactory) -> None:
    out = render_drift_report(
        make_shots(1000, seed=1),
        make_shots(50, seed=2),
        {},
        {},
        tmp_path / "small.html",
    )
    page = out.read_text(encoding="utf-8")
    assert "insufficient sample" in page
    assert "No predictions yet." in page
    assert page.count("<img") == len(FEATURES)


def test_report_escapes_text(tmp_path: Path, make_shots: ShotFactory) -> None:
    frame = pd.DataFrame(
        {"model_version": ["<b>x</b>"], "probability": [0.4], "verified_outcome": [0.0]}
    )
    out = render_drift_report(
        make_shots(300, seed=1),
        make_shots(300, seed=2),
        live_quality_by_version(frame),
        prediction_distribution(frame),
        tmp_path / "escaped.html",
        title="shots & <misses>",
    )
    page = out.read_text(encoding="utf-8")
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "shots &amp; &lt;misses&gt;" in page


def test_report_without_outcomes_says_so_in_words(tmp_path: Path, make_shots: ShotFactory) -> None:
    frame = predictions().assign(verified_outcome=np.nan)  # asked about, nothing known yet
    out = render_drift_report(
        make_shots(1000, seed=1),
        make_shots(400, seed=2),
        live_quality_by_version(frame),
        prediction_distribution(frame),
        tmp_path / "unverified.html",
    )
    page = out.read_text(encoding="utf-8")
    assert "No prediction has a known outcome yet" in page
    assert "No day has outcomes from the data yet" in page
    assert "No labels from labelers or administrators" in page
    assert "live quality (outcomes from the data)" not in page  # no empty chart's title
    assert page.count("<img") == len(FEATURES) + 1  # the predictions' shape only


def test_report_shows_days_versions_holdout_and_labels_apart(
    tmp_path: Path, make_shots: ShotFactory
) -> None:
    frame = predictions()
    frame["day"] = np.where(np.arange(600) % 3 == 0, "2023-04-07", "2023-04-09")
    labelled = frame.head(40).assign(model_version="2")
    holdout = {"2": {"log_loss": 0.6298, "accuracy": 0.636, "ece": 0.0046,
                     "constant_log_loss": 0.6925}}  # fmt: skip
    out = render_drift_report(
        make_shots(1000, seed=1),
        make_shots(400, seed=2),
        live_quality_by_version(frame),
        prediction_distribution(frame),
        tmp_path / "full.html",
        daily=live_quality_by_day(frame),
        labels=live_quality_by_version(labelled),
        holdout=holdout,
        champion="2",
    )
    page = out.read_text(encoding="utf-8")
    assert "2 (champion)" in page
    for figure in ("0.630", "0.636", "0.005", "0.693"):  # the champion's holdout figures
        assert f"<td>{figure}</td>" in page
    assert page.count("<td>2023-04-07</td>") == 2 and page.count("<td>2023-04-09</td>") == 2
    assert "No labels from labelers" not in page
    assert page.count("<img") == len(FEATURES) + 2  # versions, and the days
