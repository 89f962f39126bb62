"""The Grafana dashboard and its provisioning: valid JSON, contract metrics only, valid PromQL."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.promql_contract import allowed_series, contract_metrics, metric_names

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "nba-mlops.json"
# Grafana's variables, replaced by a plausible value before promtool parses an expression.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # collapsed rows nest their panels


def expressions() -> list[tuple[str, str]]:
    """(where, expr) for every PromQL expression of the dashboard."""
    dashboard = load_dashboard()
    found = [
        (f"panel {panel['title']!r}", target["expr"])
        for panel in all_panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    found += [
        (f"annotation {a['name']!r}", a["expr"])
        for a in dashboard.get("annotations", {}).get("list", [])
        if "expr" in a
    ]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            found.append((f"variable {variable['name']!r}", query.get("query", "")
                          if isinstance(query, dict) else query))  # fmt: skip
    return found


def test_dashboard_is_provisionable() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "nba-mlops"
    assert dashboard["title"]
    ids = [p["id"] for p in all_panels(dashboard["panels"])]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    datasource = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text("utf-8")
    )["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    for panel in all_panels(dashboard["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert panel.get("targets"), f"panel {panel['title']!r} has no query"
    provider = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text("utf-8")
    )["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]


@pytest.mark.parametrize(("where", "expr"), expressions(), ids=[w for w, _ in expressions()])
def test_expression_uses_only_contract_metrics(where: str, expr: str) -> None:
    used = metric_names(expr)
    assert used, f"{where}: selects no metric"
    unknown = used - allowed_series(contract_metrics())
    assert not unknown, f"{where}: not in docs/CONTRACTS.md: {sorted(unknown)}"


def test_every_contract_metric_is_on_the_dashboard() -> None:
    shown: set[str] = set()
    for _, expr in expressions():
        shown |= metric_names(expr)
    base = {re.sub(r"_(bucket|sum|count)$", "", name) for name in shown}
    missing = set(contract_metrics()) - shown - base
    assert not missing, f"metrics in docs/CONTRACTS.md without a panel: {sorted(missing)}"


def test_dashboard_covers_the_issue(tmp_path: Path) -> None:
    titles = " | ".join(p["title"].lower() for p in all_panels(load_dashboard()["panels"]))
    for words in (
        "requests per second", "error ratio", "latency percentiles", "inference time",
        "batch size", "api up", "users", "predictions", "verified", "live accuracy",
        "log loss", "drift", "champion version", "champion changes",
    ):  # fmt: skip
        assert words in titles, words
    exprs = " ".join(e for _, e in expressions())
    assert "changes(nba_model_version" in exprs
    assert "histogram_quantile(0.99" in exprs


def test_expressions_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Every expression parses, checked by promtool as recording rules."""
    rules = []
    for index, (_, expr) in enumerate(expressions()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:expression_{index}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), "utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


AGGREGATION = re.compile(r"\b(sum|min|max|avg|count)\b\s*(by\s*\(([^)]*)\))?\s*\(")


@pytest.mark.parametrize(("where", "expr"), expressions(), ids=[w for w, _ in expressions()])
def test_expression_adds_up_the_api_replicas(where: str, expr: str) -> None:
    """`docker compose up --scale api=3` gives every series one copy per replica (the
    instance label, from Prometheus's DNS discovery): each panel aggregates over them,
    a rate summed and a gauge computed from the shared database taken once, so a panel
    shows the deployment's line, not three."""
    found = AGGREGATION.findall(expr)
    assert found, f"{where}: {expr!r} shows one series per replica"
    assert "without" not in expr, f"{where}: name the labels kept instead"
    for _, _, kept in found:
        assert "instance" not in kept, f"{where}: {expr!r} keeps a series per replica"
