"""Start real Prometheus and Alertmanager binaries on loopback ports for end-to-end tests.

Both come from Debian (``prometheus``, ``prometheus-alertmanager``; see
scripts/install_monitoring_tools.sh). Prometheus gets a temporary config that scrapes one
target every second as job ``api`` and evaluates a copy of the real ``ApiDown`` rule
(same expression, labels and annotations) with a ``for`` of a couple of seconds, so an
outage becomes a firing alert in Alertmanager within seconds instead of minutes.
Everything listens on 127.0.0.1 only, and every process is stopped by the id it was
started with.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICE_RULES = REPO / "deploy" / "prometheus" / "rules" / "service.yml"
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25
) -> T:
    """Poll ``check`` until it returns something other than None, False or an empty
    collection (a list of alerts not received yet), or fail. Zero is a result."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError) as error:
            last_error, result = error, None
        empty = isinstance(result, list | tuple | dict | set) and not result
        if result is not None and result is not False and not empty:
            return result
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def http_json(url: str, data: Any | None = None, timeout: float = 5.0) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Process:
    """A server process started here, its log file, and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the process group this process leads, SIGKILL what is left after
        ``timeout``; returns once no process of the group remains (its ports are free)."""
        group = self.popen.pid
        if not _group_alive(group):
            self.popen.poll()
            return
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _group_alive(group) and time.monotonic() < deadline:
            self.popen.poll()  # reap the leader so it stops counting as alive
            time.sleep(0.05)
        if _group_alive(group):
            os.killpg(group, signal.SIGKILL)
            while _group_alive(group):
                self.popen.poll()
                time.sleep(0.05)
        self.popen.wait(timeout=timeout)

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_process(
    name: str, command: Sequence[str], workdir: Path, env: dict[str, str] | None = None
) -> Process:
    """Start ``command`` in its own process group, output to ``workdir/<name>.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    return Process(name, popen, log)


def wait_ready(process: Process, url: str, timeout: float) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        return http_ok(url)

    try:
        wait_until(ready, timeout, f"{process.name} at {url}")
    except TimeoutError as error:
        raise TimeoutError(f"{error}\n{process.tail()}") from None


# --- Alertmanager -------------------------------------------------------------------------
@dataclass
class Alertmanager:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: alerts Alertmanager holds now (resolved ones drop out)."""
        query = f"?{urllib.parse.urlencode(filters)}" if filters else ""
        result: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts{query}")
        return result

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        http_json(f"{self.url}/api/v2/alerts", data=alerts)

    def named(self, alertname: str) -> list[dict[str, Any]]:
        return [a for a in self.alerts() if a["labels"].get("alertname") == alertname]


QUIET_ALERTMANAGER_CONFIG: dict[str, Any] = {
    "route": {
        "receiver": "nowhere",
        "group_by": ["alertname"],
        "group_wait": "1s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    },
    "receivers": [{"name": "nowhere"}],
}


def start_alertmanager(
    binary: str,
    workdir: Path,
    config: dict[str, Any] | None = None,
    timeout: float = 20.0,
) -> Alertmanager:
    """Alertmanager on a free loopback port with no notifier (alerts are only held)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config or QUIET_ALERTMANAGER_CONFIG), "utf-8")
    process = start_process(
        "alertmanager",
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: a single instance
            "--log.level=info",
        ],
        workdir,
    )
    manager = Alertmanager(process, port)
    try:
        wait_ready(process, f"{manager.url}/-/ready", timeout)
    except BaseException:
        process.stop()
        raise
    return manager


# --- Prometheus ---------------------------------------------------------------------------
@dataclass
class Prometheus:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        data = http_json(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        if data.get("status") != "success":
            raise ValueError(f"query {expr!r} failed: {data}")
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it returns nothing."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v1/alerts``: pending and firing alerts."""
        data = http_json(f"{self.url}/api/v1/alerts")
        result: list[dict[str, Any]] = data["data"]["alerts"]
        return result

    def alert_state(self, alertname: str) -> str | None:
        states = [a["state"] for a in self.alerts() if a["labels"].get("alertname") == alertname]
        if "firing" in states:
            return "firing"
        return states[0] if states else None


def fast_api_down_rules(for_duration: str = "2s") -> dict[str, Any]:
    """The real ApiDown rule from deploy/prometheus/rules with a short ``for``."""
    groups = yaml.safe_load(SERVICE_RULES.read_text("utf-8"))["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == "ApiDown")
    return {"groups": [{"name": "e2e", "rules": [{**rule, "for": for_duration}]}]}


def start_prometheus(
    binary: str,
    workdir: Path,
    *,
    target: str,
    alertmanager_url: str | None,
    rules: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> Prometheus:
    """Prometheus on a free loopback port scraping ``target`` (host:port) as job ``api``.

    Scrape and evaluation every second; ``rules`` default to :func:`fast_api_down_rules`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules or fast_api_down_rules()), "utf-8")
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {"job_name": "api", "static_configs": [{"targets": [target]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]},
        ],
    }
    if alertmanager_url is not None:
        address = urllib.parse.urlparse(alertmanager_url).netloc
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [address]}]}]}
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), "utf-8")
    process = start_process(
        "prometheus",
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            # resend firing alerts every second, so Alertmanager hears quickly
            "--rules.alert.resend-delay=1s",
            "--log.level=info",
        ],
        workdir,
    )
    prometheus = Prometheus(process, port)
    try:
        wait_ready(process, f"{prometheus.url}/-/ready", timeout)
    except BaseException:
        process.stop()
        raise
    return prometheus


@contextmanager
def monitoring_stack(
    prometheus_binary: str, alertmanager_binary: str, workdir: Path, target: str
) -> Iterator[tuple[Prometheus, Alertmanager]]:
    """Alertmanager, then Prometheus scraping ``target`` and alerting it; both stopped after."""
    with ExitStack() as stack:
        manager = start_alertmanager(alertmanager_binary, workdir / "alertmanager")
        stack.callback(manager.process.stop)
        prometheus = start_prometheus(
            prometheus_binary, workdir / "prometheus", target=target, alertmanager_url=manager.url
        )
        stack.callback(prometheus.process.stop)
        yield prometheus, manager
