"""The Players section in Chromium against ``nba-mlops serve`` on a full store.

    python bench/bench_players_page.py --store ../full/store --model-home HOME \
        [--out artifacts/e2e-screenshots/19-players-full-data-1400.png]

``--store``: a shot store with its history (read only); ``--model-home``: a home whose
MLflow registry has a champion. A temporary home links both, ``nba-mlops serve`` runs on
it (stopped at the end), and Chromium (``/usr/bin/chromium``) signs up, opens Stephen
Curry's 2015-16 and LeBron James's beside it, and asks why for one of Curry's made
shots. Prints how long the first player took to show and the explanation; keeps a
screenshot.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 120_000


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(180):
        if server.poll() is not None:
            raise SystemExit("the server stopped; see its log")
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the server did not get ready in 180 s")


def _drive(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    user, password = f"bench_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    httpx.post(base + "/signup", json={"username": user, "password": password}).raise_for_status()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/")
            page.get_by_role("button", name="Log in", exact=True).first.click()
            page.get_by_label("Username").fill(user)
            page.get_by_label("Password").fill(password)
            page.locator("form").get_by_role("button", name="Log in").click()
            page.wait_for_selector("svg.court", timeout=TIMEOUT_MS)
            page.get_by_role("button", name="Players").click()
            left = page.get_by_test_id("player-panel-left")
            right = page.get_by_test_id("player-panel-right")
            started = time.perf_counter()
            for panel, side, name in (
                (left, "left", "Stephen Curry"),
                (right, "right", "LeBron James"),
            ):
                panel.get_by_label("Player").select_option(label=name)
                panel.get_by_test_id("player-chart").wait_for(timeout=TIMEOUT_MS)
                panel.get_by_label("Season").select_option("2015-16")
                page.wait_for_function(
                    f"document.querySelector('[data-testid=player-summary-{side}]')"
                    "?.textContent.includes('2015-16')",
                    timeout=TIMEOUT_MS,
                )
                if side == "left":
                    took = time.perf_counter() - started
                    print(f"first player's 2015-16 on screen after {took:.2f} s")
            left.locator("[data-testid=shot-made]").nth(40).dispatch_event("click")
            page.wait_for_selector(
                "[data-testid=why-left] [data-testid=explanation], "
                "[data-testid=why-left] [data-testid=explanation-unavailable]",
                timeout=TIMEOUT_MS,
            )
            print(" ".join(page.get_by_test_id("why-left").inner_text().split()))
            for side in ("left", "right"):
                print(page.get_by_test_id(f"player-summary-{side}").inner_text().split(".")[0])
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            print(f"screenshot: {out}")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--model-home", type=Path, required=True)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "artifacts/e2e-screenshots/19-players-full-data-1400.png"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-players-page-") as folder:
        home = Path(folder)
        (home / "store").symlink_to(args.store.resolve())
        (home / "mlflow").symlink_to((args.model_home / "mlflow").resolve())
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"MLFLOW_TRACKING_URI", "DATABASE_URL", "PREDICTION_SERVICE_URL"}
        }
        env |= {
            "NBA_MLOPS_HOME": str(home),
            "NBA_MLOPS_SERVING__WEB_DIST_DIR": str(ROOT / "web" / "dist"),
            "NBA_MLOPS_JWT_SECRET": secrets.token_urlsafe(48),
        }
        port = _port()
        cli = Path(sys.executable).with_name("nba-mlops")
        with (home / "serve.log").open("w") as log:
            server = subprocess.Popen(
                [str(cli), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
            )
        try:
            _ready(f"http://127.0.0.1:{port}", server)
            _drive(f"http://127.0.0.1:{port}", args.out)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
