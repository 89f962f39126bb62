"""The analyst's view in a real headless Chromium against a real API and shot store.

Open a player, see the shot chart and the zone tables, put a second player beside them,
click a shot and see why the model rates it so, open the Model section's reliability
diagram, and ask why for a shot on the court. Screenshots land in ``E2E_SCREENSHOT_DIR``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.court_page import TIMEOUT_MS, court_click, log_in, shoot_screen

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def analyst_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, errors
    context.close()


def test_players_explanations_and_reliability(
    api_server: Any, account: Any, analyst_page: tuple[Any, list[str]], screenshot_dir: Path
) -> None:
    page, errors = analyst_page
    page.goto(api_server.base_url + "/")
    page.wait_for_selector("text=Shot make probability")
    log_in(page, account)

    # The first player opens on their latest season: chart and zone tables.
    page.get_by_role("button", name="Players").click()
    left = page.get_by_test_id("player-panel-left")
    left.get_by_test_id("player-chart").wait_for(timeout=TIMEOUT_MS)
    made = left.get_by_test_id("shot-made").count()
    missed = left.get_by_test_id("shot-missed").count()
    assert made + missed > 0
    for scope in ("current", "career"):
        assert left.get_by_test_id(f"zones-{scope}").is_visible()
    # the chosen season's table, unless it is the current season's
    season = left.get_by_label("Season").input_value()
    current = left.get_by_test_id("zones-current").locator("caption").inner_text()
    assert left.get_by_test_id("zones-season").count() == (0 if season in current else 1)
    assert "shots" in left.get_by_test_id("player-summary-left").inner_text()

    # A second player beside the first.
    right = page.get_by_test_id("player-panel-right")
    options = right.get_by_label("Player").locator("option")
    second = options.nth(2).get_attribute("value")
    right.get_by_label("Player").select_option(second)
    right.get_by_test_id("player-chart").wait_for(timeout=TIMEOUT_MS)
    name_left = left.get_by_test_id("player-summary-left").inner_text().split(",")[0]
    name_right = right.get_by_test_id("player-summary-right").inner_text().split(",")[0]
    assert name_left != name_right

    # Click a shot: the explanation (or why the champion's family has none).
    target = left.locator("[data-testid=shot-made], [data-testid=shot-missed]").first
    target.dispatch_event("click")
    why = left.get_by_test_id("why-left")
    why.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(
        "[data-testid=why-left] [data-testid=explanation], "
        "[data-testid=why-left] [data-testid=explanation-unavailable]",
        timeout=TIMEOUT_MS,
    )
    bars = why.get_by_test_id("explanation-group").count()
    assert bars == 5 or why.get_by_test_id("explanation-unavailable").is_visible()
    assert "Why " in why.inner_text() and "%" in why.inner_text()
    shoot_screen(page, screenshot_dir, "16-players-1400")

    # The Model section's reliability diagram and quality by slice.
    page.get_by_role("button", name="Model").click()
    page.get_by_test_id("reliability-diagram").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_test_id("reliability-point").count() > 0
    page.get_by_role("button", name="Shooter volume").click()
    assert page.get_by_test_id("slice-table").locator("tbody tr").count() > 0
    shoot_screen(page, screenshot_dir, "17-model-reliability-1400")

    # On the court: why the latest shot's probability is what it is.
    page.get_by_role("button", name="Court").click()
    court_click(page, 0, 250)
    page.get_by_test_id("result-probability").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Why this probability?").click()
    page.wait_for_selector(
        "[data-testid=result-why] [data-testid=explanation], "
        "[data-testid=result-why] [data-testid=explanation-unavailable]",
        timeout=TIMEOUT_MS,
    )
    shoot_screen(page, screenshot_dir, "18-court-why-1400")
    assert not errors, errors
