"""Prometheus configuration and alert rules, checked and unit-tested by the real promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
ALERTS = {
    "ApiDown",
    "HighErrorRatio",
    "HighP99Latency",
    "ModelNotLoaded",
    "NoRecentRetrain",
    "LiveAccuracyLow",
    "LiveLogLossHigh",
    "FeatureDrift",
    "DatabaseDown",
}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=PROMETHEUS_DIR, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def rule_files() -> list[Path]:
    return sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))


def test_check_config(promtool: str, tmp_path: Path) -> None:
    # promtool checks that the scrape token file exists: point the copy at a stand-in.
    token = tmp_path / "metrics_token"
    token.write_text("stand-in-token-for-promtool", encoding="utf-8")
    config = (PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8")
    assert "/run/secrets/metrics_token" in config
    checked = PROMETHEUS_DIR / f".check-{tmp_path.name}.yml"
    checked.write_text(config.replace("/run/secrets/metrics_token", str(token)), "utf-8")
    try:
        result = run(promtool, "check", "config", checked.name)
    finally:
        checked.unlink()
    assert f"{len(rule_files())} rule files found" in result.stdout


def test_check_rules(promtool: str) -> None:
    run(promtool, "check", "rules", *(str(p) for p in rule_files()))


def test_rule_unit_tests(promtool: str) -> None:
    tests = sorted(str(p) for p in (PROMETHEUS_DIR / "tests").glob("*.yml"))
    assert tests
    result = run(promtool, "test", "rules", *tests)
    assert "FAILED" not in result.stdout


def test_config_scrapes_the_services_and_alerts_alertmanager() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["prediction-service"] == ["prediction-service:8001"]
    assert targets["lb"] == ["lb:8404"]
    assert "prometheus" in targets


def test_every_api_replica_is_discovered() -> None:
    """The API job finds its replicas through DNS (one address per replica of the
    compose service), not one fixed target that would be a single replica."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    (api,) = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    assert "static_configs" not in api
    assert api["dns_sd_configs"] == [
        {"names": ["api"], "type": "A", "port": 8000, "refresh_interval": "15s"}
    ]
    managers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert managers == ["alertmanager:9093"]
    assert config["rule_files"] == ["rules/*.yml"]


def alert_rules() -> list[dict[str, object]]:
    rules: list[dict[str, object]] = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(r for r in group["rules"] if "alert" in r)
    return rules


def test_every_alert_is_defined_once() -> None:
    names = [r["alert"] for r in alert_rules()]
    assert sorted(names) == sorted(ALERTS)


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: str(r["alert"]))
def test_alert_has_severity_and_annotations(rule: dict[str, object]) -> None:
    labels = rule.get("labels")
    annotations = rule.get("annotations")
    assert isinstance(labels, dict) and labels.get("severity") in {"critical", "warning"}
    assert isinstance(annotations, dict)
    assert {"summary", "description", "runbook_url"} <= set(annotations)
    assert str(annotations["runbook_url"]).startswith("docs/runbook.md#")


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in (PROMETHEUS_DIR / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == ALERTS
    assert quiet == ALERTS
