"""The court page in a real headless Chromium against a real API with a trained model.

Sign up, log in, score shots by clicking and by keyboard, draw the heat map, read the
history, verify a prediction, read the model panel, and survive a broken token; then the
same at phone width. Screenshots land in ``E2E_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.court_page import (
    TIMEOUT_MS,
    court_click,
    log_in,
    shoot_screen,
    wait_for_markers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN_KEY = "nba-mlops.token"


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def desktop(browser: Any, page_errors: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def phone(browser: Any, page_errors: list[str]) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page
    context.close()


def test_court_page_end_to_end(
    api_server: Any, desktop: Any, screenshot_dir: Path, page_errors: list[str]
) -> None:
    page = desktop
    page.goto(api_server.base_url + "/")
    page.wait_for_selector("text=Shot make probability")
    shoot_screen(page, screenshot_dir, "01-login-1280")

    # Sign up through the page; it logs straight in.
    user = SimpleNamespace(
        username=f"e2e_{secrets.token_hex(4)}", password=secrets.token_urlsafe(18)
    )
    page.get_by_role("button", name="Sign up").click()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector("svg.court", timeout=TIMEOUT_MS)
    assert page.get_by_test_id("signed-in-user").inner_text() == user.username
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')")

    # The player picker fills from GET /players.
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=player-select] option').length > 1",
        timeout=TIMEOUT_MS,
    )
    shoot_screen(page, screenshot_dir, "02-court-empty-1280")

    # A layup at the rim, then a jump shot just beyond the arc straight on.
    page.get_by_label("Shot type").select_option("Layup Shot")
    court_click(page, 0, 20)
    (near,) = wait_for_markers(page, 1)
    assert page.get_by_test_id("result-value").inner_text() == "2PT"
    assert page.get_by_test_id("result-zone").inner_text() == "Restricted Area"
    page.get_by_label("Shot type").select_option("Jump Shot")
    court_click(page, 0, 250)
    near_again, arc = wait_for_markers(page, 2)
    assert near_again == near
    assert page.get_by_test_id("result-value").inner_text() == "3PT"
    assert page.get_by_test_id("result-zone").inner_text() == "Above the Break 3"
    assert 0 < arc < near < 1, (near, arc)
    shown = page.get_by_test_id("result-probability").inner_text()
    assert shown == f"{arc * 100:.1f}%"
    assert re.fullmatch(r"\d\.\d\d pts", page.get_by_test_id("result-expected").inner_text())

    # Keyboard: focus the court, walk the cursor from the basket and shoot with Enter.
    page.locator("svg.court").focus()
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowDown")
    assert "15.0 ft" in page.get_by_test_id("cursor-info").inner_text()
    page.keyboard.press("Enter")
    assert len(wait_for_markers(page, 3)) == 3
    shoot_screen(page, screenshot_dir, "03-court-shots-1280")

    # Heat map: 600 cells at 2 ft, in one batch; then expected points.
    page.get_by_test_id("draw-heatmap").click()
    page.wait_for_selector("[data-testid=heatmap-legend]", timeout=120_000)
    assert page.locator("[data-testid=heatmap] rect").count() == 25 * 24
    page.locator(".heatmap label", has_text="Expected points").click()
    page.wait_for_selector("text=Expected points per shot")
    shoot_screen(page, screenshot_dir, "04-heatmap-points-1280")
    page.locator(".heatmap label", has_text="Make probability").click()
    page.wait_for_selector("text=Best spot:")
    shoot_screen(page, screenshot_dir, "05-heatmap-probability-1280")

    # History lists this user's shots: the 3 clicked, not the 600 heat-map cells (they
    # are stored as grid cells, out of history and the verification queue).
    page.get_by_role("button", name="History").click()
    page.wait_for_selector("[data-testid=history-table]", timeout=TIMEOUT_MS)
    assert page.locator("[data-testid=history-table] tbody tr").count() == 3
    assert page.locator(".pager span").inner_text().endswith("of 3")
    shoot_screen(page, screenshot_dir, "06-history-1280")

    # Verify a random prediction as made.
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector("[data-testid=verify-card]", timeout=TIMEOUT_MS)
    shoot_screen(page, screenshot_dir, "07-verify-1280")
    page.get_by_role("button", name="It went in").click()
    message = page.get_by_test_id("verify-message")
    message.wait_for(timeout=TIMEOUT_MS)
    assert re.search(r"Prediction_id:\d+ verified successfully", message.inner_text())

    # The model in service.
    page.get_by_role("button", name="Model").click()
    page.wait_for_selector("[data-testid=model-version]", timeout=TIMEOUT_MS)
    assert page.get_by_test_id("model-version").inner_text().strip()
    shoot_screen(page, screenshot_dir, "08-model-1280")

    # A broken token: the next request gets 401 and the page asks to log in again.
    page.get_by_role("button", name="Court").click()
    page.evaluate(f"sessionStorage.setItem('{TOKEN_KEY}', 'not-a-valid-token')")
    court_click(page, -100, 100)
    notice = page.get_by_test_id("auth-notice")
    notice.wait_for(timeout=TIMEOUT_MS)
    assert "log in again" in notice.inner_text()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    shoot_screen(page, screenshot_dir, "09-session-expired-1280")

    # Wrong password says so; the right one gets back in.
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password + "x")
    page.locator("form").get_by_role("button", name="Log in").click()
    page.get_by_test_id("auth-error").wait_for(timeout=TIMEOUT_MS)
    assert "Wrong username or password" in page.get_by_test_id("auth-error").inner_text()
    log_in(page, user)
    assert not page_errors, page_errors


def test_court_page_at_phone_width(
    api_server: Any,
    account: Any,
    phone: Any,
    screenshot_dir: Path,
    page_errors: list[str],
) -> None:
    page = phone
    page.goto(api_server.base_url + "/")
    shoot_screen(page, screenshot_dir, "11-login-390")
    log_in(page, account)

    page.locator("svg.court").tap(position=_tap_position(page, 0, 40))
    page.wait_for_selector("[data-testid=result-probability]", timeout=TIMEOUT_MS)
    page.locator("svg.court").tap(position=_tap_position(page, -230, 10))
    probabilities = wait_for_markers(page, 2)
    assert len(probabilities) == 2
    assert page.get_by_test_id("result-zone").inner_text() == "Left Corner 3"

    page.get_by_label("Grid").select_option("3")
    page.get_by_test_id("draw-heatmap").click()
    page.wait_for_selector("[data-testid=heatmap-legend]", timeout=120_000)
    shoot_screen(page, screenshot_dir, "12-court-390")

    # Nothing overflows sideways at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("button", name="History").click()
    page.wait_for_selector("[data-testid=history-table]", timeout=TIMEOUT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot_screen(page, screenshot_dir, "13-history-390")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector("[data-testid=verify-card]", timeout=TIMEOUT_MS)
    shoot_screen(page, screenshot_dir, "14-verify-390")
    page.get_by_role("button", name="Model").click()
    page.wait_for_selector("[data-testid=model-version]", timeout=TIMEOUT_MS)
    shoot_screen(page, screenshot_dir, "15-model-390")
    assert not page_errors, page_errors


def _tap_position(page: Any, x: float, y: float) -> dict[str, float]:
    """Position inside the court element for shot-chart coordinates."""
    svg = page.locator("svg.court")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    vx, vy, vw, vh = (float(v) for v in svg.get_attribute("data-view").split())
    return {"x": (x - vx) / vw * box["width"], "y": (y - vy) / vh * box["height"]}
