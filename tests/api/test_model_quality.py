"""The champion's quality by slice and its reliability diagram, from GET /models/current."""

from __future__ import annotations

import httpx


def test_current_model_gives_quality_by_slice(client: httpx.Client) -> None:
    body = client.get("/models/current").json()
    quality = body["quality"]
    assert quality is not None
    shots = quality["overall"]["shots"]
    assert shots > 0
    assert abs(quality["overall"]["log_loss"] - body["metrics"]["holdout_log_loss"]) < 1e-4
    assert set(quality["slices"]) == {
        "zone",
        "shot_type",
        "period",
        "playoffs",
        "season",
        "shooter_volume",
    }
    for lines in quality["slices"].values():
        assert lines and sum(line["shots"] for line in lines) <= shots
        for line in lines:
            assert {"value", "shots", "log_loss", "ece", "accuracy"} <= set(line)
    bins = quality["reliability"]
    assert len(bins) == 10 and sum(b["shots"] for b in bins) == shots
    for b in bins:
        if b["shots"]:
            assert b["bin_low"] <= b["mean_predicted"] <= b["bin_high"]
