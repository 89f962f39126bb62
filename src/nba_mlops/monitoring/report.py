"""One self-contained HTML monitoring report: drift per feature, live quality from real
outcomes by model version and by day beside the champion's holdout figures, person labels
apart, and what the model has been answering.

Plots are PNGs inlined as base64 ``<img>`` tags and the page has no scripts, styles or
fonts from elsewhere, so the file can be mailed, attached to an incident or opened from
``<home>/reports/`` as is. Figures are drawn on matplotlib's Agg canvas without pyplot,
which keeps no global figure state and is safe to call from a background thread.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nba_mlops.monitoring.drift import (
    DEFAULT_MIN_SAMPLE,
    DriftReport,
    FeatureDrift,
    compute_drift,
    drift_features,
)
from nba_mlops.monitoring.quality import LiveQuality, PredictionDistribution

_REFERENCE_COLOUR = "#1f77b4"
_RECENT_COLOUR = "#ff7f0e"
_STATUS_COLOUR = {
    "ok": "#2e7d32",
    "moderate": "#ef6c00",
    "drift": "#c62828",
    "insufficient_sample": "#616161",
}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #212121; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #bdbdbd; padding: 0.3rem 0.7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.status { font-weight: 600; }
figure { display: inline-block; margin: 0.5rem; }
"""


def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{encoded}">'


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _feature_plot(drift: FeatureDrift, reference: pd.Series, recent: pd.Series) -> str:
    figure = Figure(figsize=(5.5, 3.2))
    axes = figure.add_subplot()
    if drift.kind == "numeric":
        known = pd.concat([reference, recent]).dropna().to_numpy(dtype=np.float64)
        if known.size:
            low, high = np.quantile(known, [0.005, 0.995])
            edges = np.linspace(low, high if high > low else low + 1.0, 31)
            for values, colour, name in (
                (reference, _REFERENCE_COLOUR, "reference"),
                (recent, _RECENT_COLOUR, "recent"),
            ):
                data = values.dropna().to_numpy(dtype=np.float64)
                if data.size:
                    weights = np.full(data.size, 1.0 / data.size)
                    clipped = np.clip(data, edges[0], edges[-1])
                    axes.hist(
                        clipped,
                        bins=edges.tolist(),
                        weights=weights,
                        histtype="step",
                        linewidth=1.8,
                        color=colour,
                        label=f"{name} (n={data.size})",
                    )
        axes.set_ylabel("share of shots")
    else:
        positions = np.arange(len(drift.bins))
        axes.bar(
            positions - 0.2,
            drift.reference_share,
            width=0.4,
            color=_REFERENCE_COLOUR,
            label="reference",
        )
        axes.bar(
            positions + 0.2, drift.recent_share, width=0.4, color=_RECENT_COLOUR, label="recent"
        )
        axes.set_xticks(
            positions, [b[:22] for b in drift.bins], rotation=40, ha="right", fontsize=7
        )
        axes.set_ylabel("share of shots")
    axes.set_title(f"{drift.feature}  PSI {_fmt(drift.psi)} ({drift.status})", fontsize=10)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7)
    return _png(figure)


def _version_plot(
    quality: Mapping[str, LiveQuality], distribution: Mapping[str, PredictionDistribution]
) -> str:
    """Live quality (when any prediction has an outcome) and the predictions' shape, per
    version; without outcomes only the latter is drawn (the page says why in words)."""
    versions = sorted(set(quality) | set(distribution), key=_version_key)
    positions = np.arange(len(versions))
    if quality:
        figure = Figure(figsize=(8, 3.2))
        left, right = figure.subplots(1, 2)
        for offset, metric in ((-0.25, "accuracy"), (0.0, "log_loss"), (0.25, "ece")):
            values = [getattr(quality[v], metric) if v in quality else math.nan for v in versions]
            left.bar(positions + offset, values, width=0.25, label=metric)
        left.set_xticks(positions, versions)
        left.set_xlabel("model version")
        left.set_title("live quality (outcomes from the data)", fontsize=10)
        left.legend(fontsize=7)
    else:
        figure = Figure(figsize=(4.5, 3.2))
        right = figure.add_subplot()
    for offset, metric in ((-0.2, "mean_probability"), (0.2, "positive_share")):
        values = [
            getattr(distribution[v], metric) if v in distribution else math.nan for v in versions
        ]
        right.bar(positions + offset, values, width=0.4, label=metric)
    right.set_xticks(positions, versions)
    right.set_xlabel("model version")
    right.set_ylim(0, 1)
    right.set_title("predictions", fontsize=10)
    right.legend(fontsize=7)
    return _png(figure)


def _version_key(version: str) -> tuple[int, float, str]:
    try:
        return (0, float(version), version)
    except ValueError:
        return (1, 0.0, version)


def _psi_table(drift: DriftReport) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(f.feature)}</td><td>{f.kind}</td><td>{_fmt(f.psi)}</td>"
        f'<td class="status" style="color:{_STATUS_COLOUR[f.status]}">{f.status}</td></tr>'
        for f in drift.features
    )
    return f"<table><tr><th>feature</th><th>kind</th><th>PSI</th><th>status</th></tr>{rows}</table>"


def _figure(figures: Mapping[str, float] | None, name: str) -> str:
    value = (figures or {}).get(name)
    return "" if value is None else _fmt(value)


def _quality_table(
    quality: Mapping[str, LiveQuality],
    holdout: Mapping[str, Mapping[str, float]] | None = None,
    champion: str | None = None,
) -> str:
    """Per version: the live figures, what the constant scores on the same shots, and
    the version's own holdout figures beside them."""
    holdout = holdout or {}
    rows = "".join(
        f"<tr><td>{html.escape(v)}{' (champion)' if v == champion else ''}</td>"
        f"<td>{q.count}</td><td>{_fmt(q.accuracy)}</td><td>{_fmt(q.log_loss)}</td>"
        f"<td>{_fmt(q.brier)}</td><td>{_fmt(q.ece)}</td><td>{_fmt(q.make_rate)}</td>"
        f"<td>{_fmt(q.constant_accuracy)}</td><td>{_fmt(q.constant_log_loss)}</td>"
        f"<td>{_figure(holdout.get(v), 'accuracy')}</td>"
        f"<td>{_figure(holdout.get(v), 'log_loss')}</td>"
        f"<td>{_figure(holdout.get(v), 'ece')}</td>"
        f"<td>{_figure(holdout.get(v), 'constant_log_loss')}</td></tr>"
        for v, q in sorted(quality.items(), key=lambda item: _version_key(item[0]))
    )
    return (
        "<table><tr><th rowspan=2>model version</th><th colspan=5>live</th>"
        "<th colspan=3>constant on the same shots</th><th colspan=4>holdout</th></tr>"
        "<tr><th>verified</th><th>accuracy</th><th>log loss</th><th>Brier</th><th>ECE</th>"
        "<th>make rate</th><th>accuracy</th><th>log loss</th>"
        "<th>accuracy</th><th>log loss</th><th>ECE</th><th>constant log loss</th></tr>"
        f"{rows}</table>"
    )


def _daily_table(daily: Mapping[tuple[str, str], LiveQuality]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(day)}</td><td>{html.escape(version)}</td><td>{q.count}</td>"
        f"<td>{_fmt(q.accuracy)}</td><td>{_fmt(q.log_loss)}</td><td>{_fmt(q.ece)}</td>"
        f"<td>{_fmt(q.make_rate)}</td><td>{_fmt(q.constant_accuracy)}</td>"
        f"<td>{_fmt(q.constant_log_loss)}</td></tr>"
        for (version, day), q in sorted(
            daily.items(), key=lambda item: (item[0][1], _version_key(item[0][0]))
        )
    )
    return (
        "<table><tr><th>day</th><th>model version</th><th>verified</th><th>accuracy</th>"
        "<th>log loss</th><th>ECE</th><th>make rate</th><th>constant accuracy</th>"
        f"<th>constant log loss</th></tr>{rows}</table>"
    )


def _daily_plot(
    daily: Mapping[tuple[str, str], LiveQuality], holdout: Mapping[str, Mapping[str, float]]
) -> str:
    """Log loss and accuracy by day and version; dashed: the version's holdout figure,
    dotted: the constant on each day's shots."""
    figure = Figure(figsize=(9, 3.4))
    left, right = figure.subplots(1, 2)
    days = sorted({day for _, day in daily})
    where = {day: i for i, day in enumerate(days)}
    for version in sorted({v for v, _ in daily}, key=_version_key):
        points = sorted((where[d], q) for (v, d), q in daily.items() if v == version)
        xs = [x for x, _ in points]
        for axes, metric, constant in (
            (left, "log_loss", "constant_log_loss"),
            (right, "accuracy", "constant_accuracy"),
        ):
            line = axes.plot(xs, [getattr(q, metric) for _, q in points], marker="o",
                             label=f"v{version}")[0]  # fmt: skip
            axes.plot(xs, [getattr(q, constant) for _, q in points], linestyle=":",
                      color=line.get_color())  # fmt: skip
            figure_value = holdout.get(version, {}).get(metric)
            if figure_value is not None:
                axes.axhline(figure_value, linestyle="--", color=line.get_color(), linewidth=1)
    for axes, title in ((left, "log loss"), (right, "accuracy")):
        axes.set_xticks(range(len(days)), days, rotation=40, ha="right", fontsize=7)
        axes.set_title(f"{title} by day (dashed: holdout, dotted: constant)", fontsize=9)
        axes.legend(fontsize=7)
    return _png(figure)


def _distribution_table(distribution: Mapping[str, PredictionDistribution]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(v)}</td><td>{d.count}</td><td>{_fmt(d.mean_probability)}</td>"
        f"<td>{_fmt(d.positive_share)}</td></tr>"
        for v, d in sorted(distribution.items(), key=lambda item: _version_key(item[0]))
    )
    return (
        "<table><tr><th>model version</th><th>predictions</th><th>mean probability</th>"
        f"<th>share predicted made</th></tr>{rows}</table>"
    )


def render_drift_report(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    quality_by_version: Mapping[str, LiveQuality],
    distribution: Mapping[str, PredictionDistribution],
    out_path: Path,
    *,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    title: str = "nba-mlops monitoring report",
    daily: Mapping[tuple[str, str], LiveQuality] | None = None,
    labels: Mapping[str, LiveQuality] | None = None,
    holdout: Mapping[str, Mapping[str, float]] | None = None,
    champion: str | None = None,
    note: str | None = None,
) -> Path:
    """Write the HTML report to ``out_path`` (atomically) and return the path.

    ``reference`` and ``recent`` are shots in canonical columns (as for
    :func:`~nba_mlops.monitoring.drift.compute_drift`); ``quality_by_version`` and
    ``distribution`` are the results of ``live_quality_by_version`` (outcomes from the
    data) and ``prediction_distribution``; ``daily`` of ``live_quality_by_day``;
    ``labels`` the live quality of the counted person labels; ``holdout`` each version's
    holdout figures (``build.holdout_figures``); ``champion`` the version served; ``note``
    a problem to state under the drift heading (e.g. no drift reference).
    """
    holdout = holdout or {}
    drift = compute_drift(reference, recent, min_sample=min_sample)
    ref_features = drift_features(reference)
    cur_features = drift_features(recent)
    plots = "".join(
        f"<figure>{_feature_plot(f, ref_features[f.feature], cur_features[f.feature])}</figure>"
        for f in drift.features
    )
    skipped = (
        f"<p>Not compared (columns missing): {html.escape(', '.join(drift.skipped))}</p>"
        if drift.skipped
        else ""
    )
    if drift.sufficient:
        verdict = f"largest PSI {_fmt(drift.max_psi)}: <b>{drift.status}</b>"
    else:
        verdict = (
            f"<b>insufficient sample</b>: fewer than {drift.min_sample} shots on one side, "
            "PSI not computed (the histograms are shown for reference only)"
        )
    versions = (
        _version_plot(quality_by_version, distribution)
        if quality_by_version or distribution
        else "<p>No predictions yet.</p>"
    )
    if quality_by_version:
        live = _quality_table(quality_by_version, holdout, champion)
    else:
        live = (
            "<p><b>No prediction has a known outcome yet.</b> A prediction made with its "
            "shot's game and event ids (<code>game_id</code>, <code>game_event_id</code>) "
            "gets the real outcome when an ingest brings that shot; live quality appears "
            "here after the next ingest of the days predicted.</p>"
        )
    if daily:
        by_day = _daily_table(daily) + _daily_plot(daily, holdout)
    else:
        by_day = "<p>No day has outcomes from the data yet.</p>"
    if labels:
        person = _quality_table(labels)
    else:
        person = (
            "<p>No labels from labelers or administrators on predictions the data has not "
            "verified.</p>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Feature drift</h2>
{f"<p><b>{html.escape(note)}</b></p>" if note else ""}
<p>Reference shots: {drift.reference_size}; recent shots: {drift.recent_size}; {verdict}.
PSI below 0.1 is no shift, 0.1 to 0.25 moderate, above 0.25 drift.</p>
{_psi_table(drift)}{skipped}
{plots}
<h2>Live quality per model version</h2>
<p>From the real outcomes the data gave (the ingest of each predicted shot), beside what a
constant scores on the same shots and the version's own holdout figures.</p>
{live}
<h2>Live quality by day</h2>
{by_day}
<h2>Person labels, shown apart</h2>
<p>Outcomes labelers and administrators gave on predictions the data has not verified
(labels of other users do not count).</p>
{person}
<h2>Prediction distribution per model version</h2>
{_distribution_table(distribution)}
{versions}
</body></html>
"""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out_path)
    return out_path
