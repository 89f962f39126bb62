"""The deployment bundle, checked statically (no Docker engine here, and the images are
not built by the tests): compose validates with the real tool, every service is probed,
no secret is written down, the images run as a non-root user from the locked
environment, the workflows are valid, and the deployed Dagster instance keeps the same
one-training-at-a-time rule as the local one.

The real tools (``docker-compose``/``docker compose``, ``hadolint``) are required under
CI (``CI=true``) and skipped on a laptop without them (``make test-deps`` installs them);
``actionlint``, which no registry this project installs from ships, runs when present.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prerequisites import OPTIONAL, find, missing, require

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
WORKFLOWS = REPO / ".github" / "workflows"
IMAGE_TARGETS = ("api", "prediction", "orchestrator")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|API_KEY|PRIVATE_KEY", re.IGNORECASE)
#: Shapes of real credentials that must never appear in the bundle.
CREDENTIAL_SHAPES = [
    re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]+/"),
    re.compile(r"xox[abpr]-[0-9A-Za-z-]{10,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"gh[pousr]_[0-9A-Za-z]{30,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"://[^/\s:@${}]+:[^@\s${}]+@"),  # a URL with a literal user:password
]
# Values the validation run supplies for the secrets compose requires.
VALIDATION_SECRETS = {
    "POSTGRES_PASSWORD": "validation-only",
    "RABBITMQ_PASSWORD": "validation-only",
    "NBA_MLOPS_JWT_SECRET": "validation-only-not-a-real-secret-000",
}


def _compose_command() -> list[str]:
    v1 = find("docker-compose")
    if v1:
        return [v1]
    docker = find("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    missing("docker-compose", "neither docker-compose nor the docker compose plugin")
    raise AssertionError("unreachable")


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in VALIDATION_SECRETS}
    return subprocess.run(
        [*_compose_command(), "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        capture_output=True,
        text=True,
        env=clean | env,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


# --- compose ----------------------------------------------------------------------------------
def test_compose_validates_with_the_real_tool() -> None:
    done = _compose_config(VALIDATION_SECRETS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_refuses_to_run_without_the_secrets() -> None:
    done = _compose_config({})
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr


def test_the_stack_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) == {
        "postgres",
        "mlflow",
        "dagster-webserver",
        "dagster-daemon",
        "dagster-worker",
        "rabbitmq",
        "api",
        "lb",
        "redis",
        "prediction-service",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"


def test_dependencies_wait_for_health(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: use depends_on with conditions"
        for dependency, rule in depends.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule.get("condition") in {"service_healthy", "service_started"}
    for name in ("api", "mlflow", "dagster-webserver", "dagster-daemon"):
        assert services[name]["depends_on"].get(
            "postgres" if name == "mlflow" else "mlflow", {}
        ).get("condition") == ("service_healthy")


def test_prometheus_scrapes_services_that_exist(services: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
        if not target.startswith("localhost")
    ]
    discovered = [
        f"{name}:{sd['port']}"
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    ]
    alerting = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    for target in [*targets, *discovered, *alerting]:
        host = target.split(":")[0]
        assert host in services, f"Prometheus scrapes {target}, compose has no {host}"
    assert discovered == ["api:8000"]
    assert services["api"]["expose"] == ["8000"]
    assert services["prediction-service"]["expose"] == ["8001"]


def test_monitoring_configs_are_mounted_from_the_repository(services: dict[str, Any]) -> None:
    mounts = {
        name: [str(v).split(":")[0] for v in service.get("volumes", [])]
        for name, service in services.items()
    }
    assert "./prometheus" in mounts["prometheus"]
    assert "./alertmanager" in mounts["alertmanager"]
    assert {"./grafana/provisioning", "./grafana/dashboards"} <= set(mounts["grafana"])
    for name, sources in mounts.items():
        for source in sources:
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    command = " ".join(services["alertmanager"]["command"])
    assert "render-config.sh" in command
    assert set(services["alertmanager"]["secrets"]) == {"slack_webhook_url", "smtp_password"}


def test_metrics_are_scraped_with_a_token_from_a_secret_file(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    """/metrics counts users and predictions: the apps require the token Prometheus sends."""
    assert "metrics_token" in compose["secrets"]
    for name in ("api", "prediction-service"):
        environment = services[name]["environment"]
        assert environment["NBA_MLOPS_SERVING__METRICS_TOKEN_FILE"] == "/run/secrets/metrics_token"
        assert "metrics_token" in services[name]["secrets"]
    assert "metrics_token" in services["prometheus"]["secrets"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    for job in config["scrape_configs"]:
        if job["job_name"] in {"api", "prediction-service"}:
            assert job["authorization"] == {
                "type": "Bearer",
                "credentials_file": "/run/secrets/metrics_token",
            }, job["job_name"]


def test_the_api_believes_forwarded_addresses_from_the_balancer_and_gateway_only(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    import ipaddress
    import json

    value = services["api"]["environment"]["NBA_MLOPS_SERVING__TRUSTED_PROXIES"]
    default = re.fullmatch(r"\$\{NBA_MLOPS_TRUSTED_PROXIES:-(.*)\}", value)
    assert default, value
    trusted = json.loads(default.group(1))
    subnet = compose["networks"]["default"]["ipam"]["config"][0]
    balancer = services["lb"]["networks"]["default"]["ipv4_address"]
    assert trusted == [balancer, subnet["gateway"]]
    network = ipaddress.ip_network(subnet["subnet"])
    assert ipaddress.ip_address(subnet["gateway"]) in network
    # The balancer's fixed address lies outside the range Docker hands out, so no
    # replica started before it can take it.
    assert ipaddress.ip_address(balancer) in network
    assert ipaddress.ip_address(balancer) not in ipaddress.ip_network(subnet["ip_range"])
    # The API is reached through the balancer only.
    assert "ports" not in services["api"]


def test_images_are_built_from_the_bundle(services: dict[str, Any]) -> None:
    built = {name: service["build"] for name, service in services.items() if "build" in service}
    assert {b["target"] for b in built.values()} == set(IMAGE_TARGETS)
    for build in built.values():
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


# --- secrets ----------------------------------------------------------------------------------
def _environment_items(services: dict[str, Any]) -> list[tuple[str, str, str]]:
    items = []
    for name, service in services.items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        items += [(name, str(k), str(v)) for k, v in environment.items()]
    return items


def test_no_secret_is_written_in_compose(services: dict[str, Any]) -> None:
    for service, key, value in _environment_items(services):
        if SECRET_KEY.search(key):
            from_env = re.fullmatch(r"\$\{[A-Z0-9_]+(:[?-][^}]*)?\}", value)
            from_file = key.endswith("_FILE") and value.startswith("/run/secrets/")
            assert from_env or from_file, f"{service}: {key} holds a literal value"
    text = COMPOSE.read_text(encoding="utf-8")
    for shape in CREDENTIAL_SHAPES:
        assert not shape.search(text), f"compose.yaml matches {shape.pattern}"


def test_the_env_example_holds_no_secret() -> None:
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        if SECRET_KEY.search(key):
            assert value == "", f".env.example line {number}: {key} must be left empty"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for shape in CREDENTIAL_SHAPES:
        assert not shape.search(text), f".env.example matches {shape.pattern}"
    for needed in VALIDATION_SECRETS:
        assert f"{needed}=" in text and needed in text.split("# ---")[0], (
            f".env.example must say how to generate {needed}"
        )


def _keyed_values(node: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair of a parsed YAML document, at any depth."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            pairs.append((str(key), value))
            pairs += _keyed_values(value)
    elif isinstance(node, list):
        for item in node:
            pairs += _keyed_values(item)
    return pairs


def test_git_ignores_the_secret_files(compose: dict[str, Any]) -> None:
    """Every secret file compose mounts stays out of git, even with ``git add -A``."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    names = {Path(str(s["file"])).name for s in compose["secrets"].values()}
    assert names, "compose mounts no secret files"
    paths = [f"deploy/secrets/{name}" for name in sorted(names)] + [
        "deploy/secrets/any_new_secret",
        "deploy/.env",
    ]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(done.stdout.split()) == sorted(paths), (
        f"not ignored: {sorted(set(paths) - set(done.stdout.split()))}"
    )
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/secrets"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert not tracked.stdout, f"tracked by git: {tracked.stdout}"


def test_workflows_reference_secrets_only_through_the_secrets_context() -> None:
    for workflow in WORKFLOWS.glob("*.yml"):
        text = workflow.read_text(encoding="utf-8")
        for shape in CREDENTIAL_SHAPES:
            assert not shape.search(text), f"{workflow.name} matches {shape.pattern}"
        for key, value in _keyed_values(yaml.safe_load(text)):
            if SECRET_KEY.search(key) and isinstance(value, str):
                assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", value), (
                    f"{workflow.name}: {key}: {value}"
                )


# --- images -------------------------------------------------------------------------------------
def _stages() -> dict[str, list[str]]:
    """Instructions of each build stage, by stage name (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = stages.setdefault(match.group(1) or f"stage{len(stages)}", [])
        current.append(line)
    return stages


def test_images_run_as_a_non_root_user_with_a_healthcheck() -> None:
    stages = _stages()
    for target in IMAGE_TARGETS:
        instructions = stages[target]
        users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
        assert users, f"{target}: no USER"
        assert users[-1].split(":")[0] not in {"0", "root"}, f"{target} runs as root"
        assert any(i.upper().startswith("HEALTHCHECK ") for i in instructions), target
        assert any(i.upper().startswith(("CMD ", "ENTRYPOINT ")) for i in instructions), target


def test_the_python_environment_comes_from_the_lock() -> None:
    syncs = [i for steps in _stages().values() for i in steps if "uv sync" in i]
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert any(i.startswith("FROM node:") for i in _stages()["web"])
    assert "npm ci" in " ".join(_stages()["web"])
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "web/node_modules/" in ignore and "!uv.lock" in ignore


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = require("hadolint")
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- workflows ----------------------------------------------------------------------------------
def _workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return loaded


def test_workflows_parse_and_keep_the_original_schedule() -> None:
    names = {path.name for path in WORKFLOWS.glob("*.yml")}
    assert {"tests.yml", "generate-data.yml", "retrain.yml", "images.yml"} <= names
    for name in names:
        workflow = _workflow(name)
        # PyYAML reads the bare key ``on`` as True.
        assert workflow.get("jobs") and (workflow.get("on") or workflow.get(True))
    assert _workflow("generate-data.yml")[True]["schedule"] == [{"cron": "0 4 * * *"}]
    assert _workflow("retrain.yml")[True]["schedule"] == [{"cron": "0 5 * * *"}]
    tests = _workflow("tests.yml")
    assert "push" in tests[True]
    job = tests["jobs"]["test"]
    assert "postgres" in job["services"]
    assert any(step.get("run") == "make test" for step in job["steps"])
    publish = _workflow("retrain.yml")["jobs"]["publish-api-image"]
    assert publish["uses"] == "./.github/workflows/images.yml"
    assert "promoted == 'true'" in publish["if"]


def test_actionlint_accepts_the_workflows() -> None:
    actionlint = find("actionlint")
    if actionlint is None:
        pytest.skip(f"{OPTIONAL} actionlint: no registry this project installs from ships it")
    done = subprocess.run(
        [actionlint, "-no-color", *sorted(str(p) for p in WORKFLOWS.glob("*.yml"))],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the deployed Dagster instance --------------------------------------------------------------
@pytest.mark.postgres
def test_the_deployed_instance_queues_one_training_run_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from nba_mlops.orchestration.instance import concurrency, run_concurrency
    from tests.support.app_db import database_url
    from tests.support.celery_worker import deployed_dagster_home

    source = DEPLOY / "docker" / "dagster" / "dagster.yaml"
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    assert config["concurrency"]["runs"] == run_concurrency()
    assert config["concurrency"] == concurrency()  # the pools' limits too
    # Load it as Dagster would: PostgreSQL storage (on a database of the test's own, named
    # by the DAGSTER_PG_* variables compose sets), local folders moved under tmp_path.
    with database_url("postgres", tmp_path) as url:
        home, env = deployed_dagster_home(tmp_path / "dagster", url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert instance.event_log_storage.supports_global_concurrency_limits
        finally:
            instance.dispose()
