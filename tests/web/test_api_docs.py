"""The API's documentation page in a real headless Chromium with no way out of the machine:
every request that is not to the API itself is refused, as it would be offline, and the
page must still render, and try a request, from the assets the API serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 30_000


@pytest.fixture
def offline_page(browser: Any, api_server: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page whose requests to any host but the API's are aborted and recorded."""
    origin = urlsplit(api_server.base_url).netloc
    refused: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == origin:
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, refused, errors
    context.close()


def test_swagger_ui_renders_offline_and_tries_a_request(
    api_server: Any, offline_page: tuple[Any, list[str], list[str]]
) -> None:
    page, refused, errors = offline_page
    page.goto(api_server.base_url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=TIMEOUT_MS)
    assert "NBA shot prediction API" in page.locator(".swagger-ui .info .title").inner_text()
    # The operations are listed from /openapi.json, the prediction among them.
    page.wait_for_selector("#operations-predictions-predict_predict_post", timeout=TIMEOUT_MS)
    # "Try it out" on GET /health reaches the API from the page.
    health = page.locator("#operations-service-health_health_get")
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    status = health.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=TIMEOUT_MS)
    assert status.inner_text().strip() == "200"
    assert refused == [], f"/docs asked hosts other than the API: {refused}"
    assert errors == []


def test_there_is_one_documentation_page(api_server: Any) -> None:
    """ReDoc fetches its logo from its vendor's site: only the offline Swagger UI is served."""
    assert httpx.get(api_server.base_url + "/redoc", timeout=10).status_code == 404
