"""The balancer's configuration (deploy/haproxy/haproxy.cfg), checked by the real HAProxy:
it parses, it checks every replica on /ready, retries refused connections elsewhere,
names the client in X-Forwarded-For, finds the replicas through Docker's DNS, and the
health check compose runs in its container answers when HAProxy runs this very file.

tests/distributed/ runs the same file in front of three replicas."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.support.prerequisites import require

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"
SECTION = re.compile(r"^(global|defaults|frontend|backend|resolvers|listen)\b")


def haproxy() -> str:
    return require("haproxy", "apt-get install haproxy")


def lines() -> list[str]:
    return [
        line.strip()
        for line in CONFIG.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def section(name: str) -> list[str]:
    """The lines of one section (``backend api``), without its header."""
    found: list[str] = []
    inside = False
    for line in lines():
        if SECTION.match(line):
            inside = line == name
            continue
        if inside:
            found.append(line)
    return found


def test_the_real_haproxy_accepts_the_config() -> None:
    checked = subprocess.run(
        [haproxy(), "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WARNING" not in checked.stdout + checked.stderr, checked.stderr


def test_replicas_are_checked_on_ready_and_found_through_docker_dns() -> None:
    backend = section("backend api")
    assert "option httpchk" in backend
    assert any(re.match(r"http-check send meth GET uri /ready\b", line) for line in backend)
    assert "http-check expect status 200" in backend
    (template,) = [line for line in backend if line.startswith("server-template")]
    assert re.match(r"server-template api 1-\d+ api:8000 resolvers docker\b", template)
    defaults = " ".join(line for line in backend if line.startswith("default-server"))
    for option in ("check", "fall", "rise", "maxconn"):
        assert re.search(rf"\b{option}\b", defaults), option
    assert any(line.startswith("nameserver") and "127.0.0.11:53" in line
               for line in section("resolvers docker"))  # fmt: skip


def test_connection_failures_are_retried_on_another_replica() -> None:
    defaults = section("defaults")
    assert any(re.fullmatch(r"retries [1-9]", line) for line in defaults)
    assert "retry-on conn-failure" in defaults  # never a POST that reached a replica
    assert any(line.startswith("option redispatch") for line in defaults)


def test_the_client_address_is_forwarded_and_never_taken_from_the_client() -> None:
    frontend = section("frontend api")
    forwarded = [line for line in frontend if "X-Forwarded-For" in line and "set-header" in line]
    # Both branches set the header: a client's own value never passes through alone.
    assert len(forwarded) == 2 and all("%[src]" in line for line in forwarded), forwarded


def test_compose_runs_this_config_at_the_address_the_api_trusts() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    lb = compose["services"]["lb"]
    assert "./haproxy:/usr/local/etc/haproxy:ro" in lb["volumes"]
    assert any(str(port).endswith(":8080") for port in lb["ports"])
    assert any(line.startswith("bind :8080") for line in section("frontend api"))
    trusted = compose["services"]["api"]["environment"]["NBA_MLOPS_SERVING__TRUSTED_PROXIES"]
    assert lb["networks"]["default"]["ipv4_address"] in trusted
    gateway = compose["networks"]["default"]["ipam"]["config"][0]["gateway"]
    assert any(f"src {gateway}" in line for line in section("frontend api"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_container_health_check_answers_from_the_running_config(tmp_path: Path) -> None:
    """Run this config (ports and socket moved to free ones) and the compose health check
    command against it, as Docker would; the same command fails once HAProxy is gone."""
    binary = haproxy()
    api_port, monitor_port = _free_port(), _free_port()
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace("bind :8080", f"bind 127.0.0.1:{api_port}")
    text = text.replace("bind :8404", f"bind 127.0.0.1:{monitor_port}")
    text = text.replace("/var/lib/haproxy/admin.sock", str(tmp_path / "admin.sock"))
    config = tmp_path / "haproxy.cfg"
    config.write_text(text, encoding="utf-8")
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    test = compose["services"]["lb"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    check = [*test[1:3], test[3].replace("/8404", f"/{monitor_port}")]

    proc = subprocess.Popen(
        [binary, "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(check, timeout=10, capture_output=True).returncode != 0:
            assert proc.poll() is None, "haproxy exited"
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        metrics = subprocess.run(
            ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{monitor_port} && printf "
             "'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"],
            capture_output=True, text=True, timeout=10,
        ).stdout  # fmt: skip
        assert "haproxy_backend_" in metrics  # what Prometheus's lb job scrapes
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert subprocess.run(check, timeout=10, capture_output=True).returncode != 0
