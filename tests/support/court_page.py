"""Driving the court page in a headless browser: log in, click the court, read the shot
markers, take a screenshot. Shared by the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TIMEOUT_MS = 30_000


def court_click(page: Any, x: float, y: float) -> None:
    """Click the court at shot-chart coordinates (tenths of feet, basket at 0, 0)."""
    svg = page.locator("svg.court")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    vx, vy, vw, vh = (float(v) for v in svg.get_attribute("data-view").split())
    page.mouse.click(
        box["x"] + (x - vx) / vw * box["width"], box["y"] + (y - vy) / vh * box["height"]
    )


def marker_probabilities(page: Any) -> list[float]:
    values = page.locator("[data-testid=shot-marker]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-probability'))"
    )
    return [float(v) for v in values if v]


def wait_for_markers(page: Any, count: int) -> list[float]:
    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid=shot-marker]')]
                 .filter(e => e.getAttribute('data-probability')).length >= n""",
        arg=count,
        timeout=TIMEOUT_MS,
    )
    return marker_probabilities(page)


def log_in(page: Any, account: Any) -> None:
    page.get_by_role("button", name="Log in", exact=True).first.click()
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.locator("form").get_by_role("button", name="Log in").click()
    page.wait_for_selector("svg.court", timeout=TIMEOUT_MS)


def shoot_screen(page: Any, folder: Path, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
