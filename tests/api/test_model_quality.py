"""The champion's quality by slice and its reliability diagram, from GET /models/current."""

from __future__ import annotations

from typing import Any

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


def test_live_reliability_counts_verified_predictions(client: httpx.Client, account: Any) -> None:
    def shots_in(probability: float) -> int:
        bins = client.get("/models/current").json()["live_reliability"]
        assert bins is not None and len(bins) == 10
        (found,) = [
            b
            for b in bins
            if b["bin_low"] <= probability < b["bin_high"]
            or (b["bin_high"] == 1.0 and probability == 1.0)
        ]
        return int(found["shots"])

    made = client.post("/predict", json={"loc_x": 0, "loc_y": 10}, headers=account.headers).json()
    before = shots_in(made["probability"])
    body = {"prediction_id": made["prediction_id"], "true_value": 1}
    response = client.post("/verify_random_prediction", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    assert shots_in(made["probability"]) == before + 1
