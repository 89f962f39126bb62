"""Separate hosts on one machine: network namespaces joined by veth pairs to a bridge, API
replicas (real ``nba-mlops serve`` processes) and HAProxy running the deployment's own
config (deploy/haproxy/haproxy.cfg, its Docker DNS discovery swapped for fixed servers).

Used by tests/distributed/ and bench/bench_balancer.py. Everything made here is undone
when its context ends, on failure too: processes are ended by process group, namespaces,
veth pairs and the bridge deleted.

Where namespaces cannot be made (not root, no ``ip``; or NBA_MLOPS_TEST_NO_NETNS=1),
:func:`network` gives loopback addresses (127.0.0.x) instead and says why: the same
processes and checks, without the network between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = REPO / "deploy" / "haproxy" / "haproxy.cfg"
CLI = str(Path(sys.executable).with_name("nba-mlops"))
API_PORT = 8000
LB_PORT = 8080
MONITOR_PORT = 8404


@dataclass(frozen=True)
class Host:
    """One machine of the test: a namespace (or none, on loopback) and its address."""

    name: str
    address: str
    namespace: str | None

    def command(self, args: list[str]) -> list[str]:
        if self.namespace is None:
            return args
        return ["ip", "netns", "exec", self.namespace, *args]


@dataclass
class Network:
    hosts: list[Host]
    # Where the hosts reach services of the machine itself (PostgreSQL, Redis).
    gateway: str
    isolated: bool
    why_not: str = ""
    _undo: list[list[str]] = field(default_factory=list)


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=30)


def namespaces_unavailable() -> str:
    """Why namespaces cannot be made here ("" when they can)."""
    if os.environ.get("NBA_MLOPS_TEST_NO_NETNS"):
        return "NBA_MLOPS_TEST_NO_NETNS is set"
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if shutil.which("socat") is None:
        return "no socat to forward PostgreSQL and Redis into the namespaces"
    probe = f"nba-probe-{uuid.uuid4().hex[:6]}"
    try:
        _run(["ip", "netns", "add", probe])
    except (subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        return f"`ip netns add` failed: {detail.strip()}"
    with contextlib.suppress(subprocess.CalledProcessError):
        _run(["ip", "netns", "del", probe])
    return ""


def _free_subnet() -> ipaddress.IPv4Network:
    used = (
        subprocess.run(
            ["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True
        ).stdout
        + subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    )
    for _ in range(100):
        second, third = random.randint(100, 250), random.randint(0, 255)
        subnet = ipaddress.IPv4Network(f"10.{second}.{third}.0/24")
        prefix = str(subnet.network_address).rsplit(".", 1)[0] + "."
        if prefix not in used:
            return subnet
    raise RuntimeError("no free 10.x.y.0/24 subnet for the test network")


@contextlib.contextmanager
def network(
    names: list[str], *, loopback_base: int = 10, isolate: bool = True
) -> Iterator[Network]:
    """One host per name: namespaces on a bridge where possible (and ``isolate``), else
    127.0.0.x."""
    why = namespaces_unavailable() if isolate else "not asked for"
    if why:
        hosts = [
            Host(name, f"127.0.0.{loopback_base + i + 1}", None) for i, name in enumerate(names)
        ]
        yield Network(hosts, "127.0.0.1", isolated=False, why_not=why)
        return
    tag = uuid.uuid4().hex[:6]
    subnet = _free_subnet()
    addresses = list(subnet.hosts())
    gateway = str(addresses[0])
    bridge = f"nbabr{tag}"
    net = Network([], gateway, isolated=True)
    try:
        net._undo.append(["ip", "link", "del", bridge])
        _run(["ip", "link", "add", bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{gateway}/24", "dev", bridge])
        _run(["ip", "link", "set", bridge, "up"])
        for i, name in enumerate(names):
            namespace = f"nba-{tag}-{name}"
            outer, inner = f"nbv{tag}{i}", f"nbp{tag}{i}"
            address = str(addresses[10 + i])
            net._undo.append(["ip", "netns", "del", namespace])
            _run(["ip", "netns", "add", namespace])
            _run(["ip", "link", "add", outer, "type", "veth", "peer", "name", inner])
            _run(["ip", "link", "set", inner, "netns", namespace])
            _run(["ip", "link", "set", outer, "master", bridge])
            _run(["ip", "link", "set", outer, "up"])
            _run(["ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", inner])
            _run(["ip", "-n", namespace, "link", "set", inner, "up"])
            _run(["ip", "-n", namespace, "link", "set", "lo", "up"])
            net.hosts.append(Host(name, address, namespace))
        yield net
    finally:
        for undo in reversed(net._undo):
            subprocess.run(undo, capture_output=True, timeout=30)


def leftover_namespaces(tag_prefix: str = "nba-") -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(tag_prefix)]


# --- processes ---------------------------------------------------------------------------------
def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait_s: float = 20) -> None:
    """End the process's whole group (it leads one), SIGKILL after ``wait_s``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # helpers left in the group
    if proc.poll() is None:
        proc.wait(timeout=10)


@contextlib.contextmanager
def started(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args,
            env=env if env is not None else dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
    try:
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def forwarders(net: Network, targets: dict[int, str], log_dir: Path) -> Iterator[None]:
    """Forward ``gateway:port`` to ``host:port`` of the machine for each port: the
    namespaces reach PostgreSQL and Redis that listen on 127.0.0.1 only (connections
    arrive from 127.0.0.1, as a local client's would). Nothing to do on loopback."""
    if not net.isolated:
        yield
        return
    with contextlib.ExitStack() as stack:
        for port, target in targets.items():
            stack.enter_context(
                started(
                    [
                        "socat",
                        f"TCP-LISTEN:{port},bind={net.gateway},reuseaddr,fork,backlog=1024",
                        f"TCP:{target}:{port}",
                    ],
                    log_dir / f"socat-{port}.log",
                )
            )
        for port in targets:
            wait_for_port(net.gateway, port, 10)
        yield


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- HAProxy -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ports:
    """The deployment's ports in namespaces; free ones on loopback, where another
    program of the machine may hold 8000 on every address."""

    api: int = API_PORT
    lb: int = LB_PORT
    monitor: int = MONITOR_PORT

    @classmethod
    def for_network(cls, net: Network) -> Ports:
        return cls() if net.isolated else cls(free_port(), free_port(), free_port())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def haproxy_config(
    lb: Host, replicas: list[Host], stats_socket: Path, ports: Ports, **server: int
) -> str:
    """The deployment's config with fixed servers at the replicas' addresses, bound to the
    balancer host's address; ``server`` overrides default-server options (``maxconn``)."""
    text = HAPROXY_CONFIG.read_text(encoding="utf-8")
    replaced = {
        "bind :8080": f"bind {lb.address}:{ports.lb}",
        "bind :8404": f"bind {lb.address}:{ports.monitor}",
        "/var/lib/haproxy/admin.sock": str(stats_socket),
    }
    for old, new in replaced.items():
        assert old in text, f"deploy/haproxy/haproxy.cfg no longer has {old!r}"
        text = text.replace(old, new)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("server-template"):
            # Connections leave from the balancer's own address (on loopback the kernel
            # would pick 127.0.0.1, which the replicas do not trust).
            lines.append(f"    source {lb.address}")
            lines += [f"    server {host.name} {host.address}:{ports.api}" for host in replicas]
            continue
        if stripped.startswith("default-server"):
            for option, value in server.items():
                words = line.split()
                if option in words:
                    words[words.index(option) + 1] = str(value)
                line = "    " + " ".join(words)
        lines.append(line)
    return "\n".join(lines) + "\n"


def haproxy_command(stats_socket: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(stats_socket))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def haproxy_stats(stats_socket: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``show stat`` as {(proxy, server): {field: value}}."""
    text = haproxy_command(stats_socket, "show stat")
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        values = dict(zip(header, line.split(","), strict=False))
        rows[(values["pxname"], values["svname"])] = values
    return rows


# --- a small HTTP/1.1 client over raw connections ------------------------------------------------
# httpx would share a pool between tasks: here each simulated client owns exactly one
# connection, so "1,000 connections" means 1,000 sockets open at once, and a failure is
# pinned to the connection it happened on.
def http_request(method: str, path: str, host: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """One request on this connection (opened again when the last one closed)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length, close = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if length is None:
            body = await self.reader.read()
            close = True
        else:
            body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body
