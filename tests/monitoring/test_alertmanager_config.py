"""Alertmanager configuration: valid for the real amtool, routed by severity, no secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ALERTMANAGER_DIR = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager"
TEMPLATE = ALERTMANAGER_DIR / "alertmanager.yml"
RENDER = ALERTMANAGER_DIR / "render-config.sh"
SECRET_FILES = ("/run/secrets/smtp_password", "/run/secrets/slack_webhook_url")
DEPLOY_ENV = {
    "SMTP_HOST": "smtp.example.invalid",
    "SMTP_PORT": "587",
    "SMTP_USERNAME": "alerts",
    "ALERT_EMAIL_FROM": "alerts@example.invalid",
    "ALERT_EMAIL_TO": "oncall@example.invalid",
    "RUNBOOK_BASE_URL": "https://docs.example.invalid/nba-mlops/",
}


def with_placeholder_secrets(text: str, directory: Path) -> str:
    """The config with its secret file paths moved to placeholder files in ``directory``."""
    for secret in SECRET_FILES:
        placeholder = directory / Path(secret).name
        placeholder.write_text("placeholder\n", encoding="utf-8")
        text = text.replace(secret, str(placeholder))
    return text


def render(output: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **DEPLOY_ENV, **overrides}
    env = {k: v for k, v in env.items() if v}
    return subprocess.run(
        ["sh", str(RENDER), str(TEMPLATE), str(output)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def check_config(amtool: str, path: Path) -> str:
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    output = tmp_path / "alertmanager.yml"
    result = render(output)
    assert result.returncode == 0, result.stderr
    output.write_text(with_placeholder_secrets(output.read_text("utf-8"), tmp_path), "utf-8")
    return output


def test_template_as_committed_passes_check(amtool: str, tmp_path: Path) -> None:
    config = tmp_path / "template.yml"
    config.write_text(with_placeholder_secrets(TEMPLATE.read_text("utf-8"), tmp_path), "utf-8")
    out = check_config(amtool, config)
    assert "3 inhibit rules" in out and "2 receivers" in out


def test_rendered_config_passes_check(amtool: str, rendered: Path) -> None:
    check_config(amtool, rendered)
    text = rendered.read_text("utf-8")
    assert "smtp.example.invalid:587" in text
    assert "to: 'oncall@example.invalid'" in text
    assert "channel: '#nba-mlops-alerts'" in text  # the default
    assert "Runbook: https://docs.example.invalid/nba-mlops/{{ .Annotations.runbook_url }}" in text
    settings = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("${" in line for line in settings)


def test_render_refuses_a_missing_variable_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "alertmanager.yml"
    result = render(output, ALERT_EMAIL_TO="")
    assert result.returncode != 0
    assert "ALERT_EMAIL_TO is not set" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_render_refuses_a_value_that_would_break_the_yaml(tmp_path: Path) -> None:
    result = render(tmp_path / "alertmanager.yml", SLACK_CHANNEL="#a' injected: 'x")
    assert result.returncode != 0
    assert "SLACK_CHANNEL holds a quote" in result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=ApiDown"], "slack-and-email"),
        (["severity=critical", "alertname=DatabaseDown"], "slack-and-email"),
        (["severity=warning", "alertname=FeatureDrift"], "slack"),
        (["alertname=SomethingUnlabelled"], "slack"),
    ],
)
def test_routes_by_severity(amtool: str, rendered: Path, labels: list[str], receiver: str) -> None:
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={rendered}",
         f"--verify.receivers={receiver}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_api_down_inhibits_every_other_alert() -> None:
    config = yaml.safe_load(TEMPLATE.read_text("utf-8"))
    rules = config["inhibit_rules"]
    api_down = [r for r in rules if r["source_matchers"] == ['alertname="ApiDown"']]
    assert api_down == [
        {"source_matchers": ['alertname="ApiDown"'], "target_matchers": ['alertname!="ApiDown"']}
    ]


def test_no_secret_or_address_in_the_repository() -> None:
    text = TEMPLATE.read_text("utf-8")
    config = yaml.safe_load(text)
    # secrets only ever by file
    for key in ("slack_api_url", "smtp_auth_password", "api_url", "auth_password"):
        assert not re.search(rf"^\s*{key}:", text, re.M), f"{key} must be a *_file"
    assert config["global"]["slack_api_url_file"].startswith("/run/secrets/")
    assert config["global"]["smtp_auth_password_file"].startswith("/run/secrets/")
    assert "hooks.slack.com" not in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an e-mail address is in the file"
    email = config["receivers"][1]["email_configs"][0]
    assert email["to"] == "${ALERT_EMAIL_TO}"


def test_render_script_is_posix_sh() -> None:
    dash = shutil.which("dash") or shutil.which("sh")
    assert dash is not None
    result = subprocess.run([dash, "-n", str(RENDER)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
