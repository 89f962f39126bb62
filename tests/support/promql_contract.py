"""The metric contract (docs/CONTRACTS.md) and the metric names a PromQL expression uses.

The contract's metric table is the single source of the allowed names: alert rules and
dashboard panels may use only those (histograms with their _bucket/_sum/_count series)
and Prometheus' own ``up``.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"
BUILTIN_SERIES = frozenset({"up"})

_ROW = re.compile(r"^\|\s*`(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(?P<kind>[^|]+?)\s*\|")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset(
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
        "group_right", "bool", "offset", "atan2", "inf", "nan",
    }
)  # fmt: skip


def contract_metrics(path: Path = CONTRACTS) -> dict[str, str]:
    """Metric name to type, read from the contract's Prometheus metrics table."""
    text = path.read_text(encoding="utf-8")
    section = text.split("## Prometheus metrics", 1)[1].split("\n## ", 1)[0]
    metrics: dict[str, str] = {}
    for line in section.splitlines():
        match = _ROW.match(line.strip())
        if match:
            metrics[match["name"]] = match["kind"].strip()
    return metrics


def allowed_series(metrics: dict[str, str]) -> set[str]:
    """Every series name the contract allows, histogram series included, plus ``up``."""
    allowed = set(BUILTIN_SERIES)
    for name, kind in metrics.items():
        allowed.add(name)
        if kind.startswith("histogram"):
            allowed.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return allowed


def metric_names(expr: str) -> set[str]:
    """Series names an expression selects (functions, keywords and labels left out).

    Grafana variables (``$__rate_interval``) may appear; they sit inside ranges or are
    ``$``-prefixed and are ignored.
    """
    text = _STRING.sub('""', expr)
    while True:  # nested braces do not occur in PromQL, but ranges can nest in subqueries
        stripped = _RANGE.sub("", _MATCHERS.sub("", text))
        if stripped == text:
            break
        text = stripped
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b\d[\w.]*", " ", text)  # numbers and durations (5m, 1e3, 0x1f)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
