"""Alert rules speak the metric contract, and every alert has a runbook section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.promql_contract import allowed_series, contract_metrics, metric_names

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbook.md"


def alert_rules() -> list[dict[str, object]]:
    rules: list[dict[str, object]] = []
    for path in sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(group["rules"])
    return rules


def github_anchor(heading: str) -> str:
    """The fragment GitHub (and most Markdown renderers) give a heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    anchors = {github_anchor(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}
    anchors |= set(re.findall(r'<a\s+(?:id|name)="([^"]+)"', text))
    return anchors


def test_contract_table_is_read() -> None:
    metrics = contract_metrics()
    assert "nba_http_request_duration_seconds" in metrics
    assert metrics["nba_http_request_duration_seconds"] == "histogram"
    assert len(metrics) >= 20


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: str(r.get("alert", r.get("record"))))
def test_rule_uses_only_contract_metrics(rule: dict[str, object]) -> None:
    used = metric_names(str(rule["expr"]))
    assert used, "the expression selects no metric: the parser or the rule is wrong"
    unknown = used - allowed_series(contract_metrics())
    assert not unknown, f"not in docs/CONTRACTS.md: {sorted(unknown)}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: str(r.get("alert", r.get("record"))))
def test_runbook_url_points_at_a_section(rule: dict[str, object]) -> None:
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    url = str(annotations["runbook_url"])
    path, _, anchor = url.partition("#")
    assert (REPO / path) == RUNBOOK
    assert anchor in runbook_anchors(), f"docs/runbook.md has no section #{anchor}"
    # the section is the alert's own, not a neighbour's
    assert anchor == github_anchor(str(rule["alert"]))


def test_runbook_sections_say_what_how_and_do() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    titled = {s.splitlines()[0].strip(): s for s in sections}
    for rule in alert_rules():
        body = titled[str(rule["alert"])]
        for part in ("**Means.**", "**Check.**", "**Do.**"):
            assert part in body, f"{rule['alert']}: no {part} part"


def test_metric_parser_ignores_labels_functions_and_keywords() -> None:
    expr = (
        "(nba_live_accuracy < 0.55 and on (job, model_version) nba_live_verified_count >= 200)"
        " and on (model_version) group by (model_version) "
        '(label_replace(nba_model_info == 1, "model_version", "$1", "version", "(.*)"))'
        ' or histogram_quantile(0.99, sum by (le) (rate(x_bucket{route=~".*/p"}[5m] offset 1h)))'
        " > bool time() - y"
    )
    assert metric_names(expr) == {
        "nba_live_accuracy",
        "nba_live_verified_count",
        "nba_model_info",
        "x_bucket",
        "y",
    }
