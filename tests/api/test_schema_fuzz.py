"""Schemathesis over the OpenAPI schema: generated valid and invalid requests, never a 5xx."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from api_servers import LiveServer, sign_up
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(
    live: LiveServer, client: httpx.Client, mode: GenerationMode
) -> None:
    account = sign_up(client)
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=live.url, headers=account.headers, timeout=30)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
            )

    call()
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) >= 50, f"only {len(statuses)} requests were generated"
    print(f"{mode}: {len(statuses)} requests, statuses {sorted(set(statuses))}")
