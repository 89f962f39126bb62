"""Prometheus collectors of the API and the prediction service (names: docs/CONTRACTS.md).

Works in one process and across uvicorn worker processes: ``nba-mlops serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker imports ``prometheus_client``; counters
and histograms are then summed over workers, and each gauge says how to combine them.
Gauges about the shared database use ``mostrecent`` (one worker refreshes them); gauges
about each worker's own model use ``live*`` modes, whose files are removed for workers
that died (see :func:`forget_dead_workers`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)

HTTP_REQUESTS = Counter(
    "nba_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "nba_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_DURATION = Histogram(
    "nba_inference_duration_seconds",
    "Time of one predict_proba call on a micro-batch.",
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_BATCH_SIZE = Histogram(
    "nba_inference_batch_size", "Shots scored by one predict_proba call.", buckets=_BATCH_BUCKETS
)
PREDICTIONS = Counter(
    "nba_predictions_total", "Shots scored, by predicted label.", ["label", "model_version"]
)
MODEL_LOADED = Gauge(
    "nba_model_loaded",
    "1 when a champion is loaded (in every worker).",
    multiprocess_mode="livemin",
)
MODEL_INFO = Gauge(
    "nba_model_info", "The champion being served.", ["version", "name"], multiprocess_mode="livemax"
)
MODEL_VERSION = Gauge(
    "nba_model_version", "Version number of the champion served.", multiprocess_mode="livemax"
)
MODEL_RELOADS = Counter("nba_model_reloads_total", "Champion (re)loads.", ["outcome"])
LAST_TRAINING = Gauge(
    "nba_last_training_timestamp_seconds",
    "Creation time of the newest registered model version.",
    multiprocess_mode="max",
)
DATABASE_UP = Gauge(
    "nba_database_up", "1 when the application database answers.", multiprocess_mode="mostrecent"
)
USERS = Gauge("nba_users", "Registered users.", multiprocess_mode="mostrecent")
PREDICTIONS_STORED = Gauge(
    "nba_predictions_stored", "Predictions in the database.", multiprocess_mode="mostrecent"
)
PREDICTIONS_VERIFIED = Gauge(
    "nba_predictions_verified",
    "Stored predictions whose outcome was verified.",
    multiprocess_mode="mostrecent",
)
# Live quality: over the latest predictions whose outcome came from the data.
LIVE_ACCURACY = Gauge(
    "nba_live_accuracy",
    "Accuracy on predictions verified from the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_LOG_LOSS = Gauge(
    "nba_live_log_loss",
    "Log loss on predictions verified from the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_ECE = Gauge(
    "nba_live_ece",
    "Expected calibration error on predictions verified from the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_VERIFIED_COUNT = Gauge(
    "nba_live_verified_count",
    "Predictions verified from the data behind the live quality gauges.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_MAKE_RATE = Gauge(
    "nba_live_make_rate",
    "Make rate of the shots behind the live quality gauges.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_CONSTANT_LOG_LOSS = Gauge(
    "nba_live_constant_log_loss",
    "Log loss of predicting the live window's own make rate for every one of its shots.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_CONSTANT_ACCURACY = Gauge(
    "nba_live_constant_accuracy",
    "Accuracy of always answering the live window's more frequent outcome.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LIVE_DAY_ACCURACY = Gauge(
    "nba_live_day_accuracy",
    "Accuracy on one game day's predictions verified from the data (latest days).",
    ["model_version", "day"],
    multiprocess_mode="mostrecent",
)
LIVE_DAY_LOG_LOSS = Gauge(
    "nba_live_day_log_loss",
    "Log loss on one game day's predictions verified from the data (latest days).",
    ["model_version", "day"],
    multiprocess_mode="mostrecent",
)
LIVE_DAY_ECE = Gauge(
    "nba_live_day_ece",
    "Calibration error on one game day's predictions verified from the data.",
    ["model_version", "day"],
    multiprocess_mode="mostrecent",
)
LIVE_DAY_VERIFIED_COUNT = Gauge(
    "nba_live_day_verified_count",
    "One game day's predictions verified from the data.",
    ["model_version", "day"],
    multiprocess_mode="mostrecent",
)
# Person labels of the counted roles (labelers, administrators), apart from the data's.
LABEL_ACCURACY = Gauge(
    "nba_label_accuracy",
    "Accuracy on predictions labelled by labelers and administrators, not yet by the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LABEL_LOG_LOSS = Gauge(
    "nba_label_log_loss",
    "Log loss on predictions labelled by labelers and administrators, not yet by the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
LABEL_COUNT = Gauge(
    "nba_label_count",
    "Predictions labelled by labelers and administrators, not yet verified by the data.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
# The champion's own figures on its holdout, which the alert thresholds are derived from.
HOLDOUT_GAUGES = {
    name: Gauge(
        f"nba_model_holdout_{name}",
        f"The champion's {what} on its holdout.",
        ["model_version"],
        multiprocess_mode="mostrecent",
    )
    for name, what in (
        ("log_loss", "log loss"),
        ("accuracy", "accuracy"),
        ("ece", "calibration error"),
        ("constant_log_loss", "log loss of the constant training make rate"),
        ("constant_accuracy", "accuracy of always answering the more frequent outcome"),
    )
}
PREDICTION_MEAN_PROBABILITY = Gauge(
    "nba_prediction_mean_probability",
    "Mean make probability of recent predictions.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
PREDICTION_POSITIVE_SHARE = Gauge(
    "nba_prediction_positive_share",
    "Share of recent predictions answering 'make'.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
FEATURE_DRIFT_PSI = Gauge(
    "nba_feature_drift_psi",
    "Population stability index of recent inputs against the training reference.",
    ["feature"],
    multiprocess_mode="mostrecent",
)
DRIFT_SAMPLE_SIZE = Gauge(
    "nba_drift_sample_size",
    "Recent predictions compared with the reference.",
    multiprocess_mode="mostrecent",
)

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def _multiprocess_mode() -> bool:
    # The mode is fixed when prometheus_client is first imported; trust that, not the
    # variable's current value.
    return multiprocess_dir() is not None and values.ValueClass is not values.MutexValue


def render_latest() -> tuple[bytes, str]:
    """The exposition text of every collector (summed over workers when there are several)."""
    if _multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_PID_IN_NAME = re.compile(r"_(\d+)\.db$")


def forget_dead_workers() -> None:
    """Drop the ``live*`` gauge files of worker processes that no longer exist."""
    directory = multiprocess_dir()
    if directory is None or not directory.is_dir():
        return
    pids = {
        int(m.group(1))
        for p in directory.glob("gauge_live*.db")
        if (m := _PID_IN_NAME.search(p.name))
    }
    for pid in pids:
        if not psutil.pid_exists(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def set_model(name: str | None, version: str | None, previous: str | None = None) -> None:
    """Point the model gauges at the champion now served (``None``: no model)."""
    if previous is not None and name is not None:
        MODEL_INFO.labels(version=previous, name=name).set(0)
    if name is None or version is None:
        MODEL_LOADED.set(0)
        return
    MODEL_LOADED.set(1)
    MODEL_INFO.labels(version=version, name=name).set(1)
    try:
        MODEL_VERSION.set(float(version))
    except ValueError:
        MODEL_VERSION.set(-1)


_daily_keys: set[tuple[str, str]] = set()


def set_daily_quality(figures: dict[tuple[str, str], tuple[float, float, float, int]]) -> None:
    """Set the by-day gauges, ``(model version, day) -> (accuracy, log loss, ece, count)``;
    days that left the window are set to NaN and dropped (with several workers the NaN
    stays until the server restarts: a NaN never satisfies an alert)."""
    gauges = (LIVE_DAY_ACCURACY, LIVE_DAY_LOG_LOSS, LIVE_DAY_ECE, LIVE_DAY_VERIFIED_COUNT)
    for version, day in _daily_keys - set(figures):
        for gauge in gauges:
            gauge.labels(model_version=version, day=day).set(float("nan"))
            gauge.remove(version, day)
    for (version, day), numbers in figures.items():
        for gauge, value in zip(gauges, numbers, strict=True):
            gauge.labels(model_version=version, day=day).set(value)
    _daily_keys.clear()
    _daily_keys.update(figures)


def observe_batch(size: int, seconds: float) -> None:
    INFERENCE_BATCH_SIZE.observe(size)
    INFERENCE_DURATION.observe(seconds)


def count_predictions(labels: list[int], model_version: str) -> None:
    ones = sum(labels)
    if ones:
        PREDICTIONS.labels(label="1", model_version=model_version).inc(ones)
    if len(labels) - ones:
        PREDICTIONS.labels(label="0", model_version=model_version).inc(len(labels) - ones)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HTTPMetricsMiddleware:
    """Count and time every HTTP request by method, route template and status.

    A plain ASGI middleware (no per-request task or body buffering). The route label is
    the matched route's path template (``/predictions``, never ``/predictions?limit=5``);
    requests that match no route share one label so scanners cannot explode the series.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        if method not in _METHODS:
            method = "other"
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if not template:
            template = UNMATCHED_ROUTE
        elif getattr(route, "name", None) == "web":
            template = "/{path}"  # the built web page's static files
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(method=method, route=template, status=str(status)),
                HTTP_DURATION.labels(method=method, route=template),
            )
            if len(self._children) < 10_000:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
