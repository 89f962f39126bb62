"""Schemathesis over every endpoint with a real token: generated valid and invalid
requests never get a server error, and every answer matches what the OpenAPI document
declares (status, content type, body schema)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api_servers import LiveServer, sign_up
from tests.support.fuzz_seeds import resolve, seed_params

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
@pytest.mark.parametrize("fuzz_seed", seed_params())
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_declared_and_none_is_a_server_error(
    live: LiveServer, client: httpx.Client, mode: GenerationMode, fuzz_seed: int | None
) -> None:
    account = sign_up(client)
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    statuses: list[int] = []

    @seed(resolve(fuzz_seed))
    @settings(
        max_examples=120,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the example is printed
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=live.url, headers=account.headers, timeout=30)
        statuses.append(response.status_code)
        # A failure names the check and prints the request as a curl command.
        case.validate_response(response, checks=CHECKS, headers=account.headers)

    call()
    assert len(statuses) >= 50, f"only {len(statuses)} requests were generated"
    print(f"{mode}: {len(statuses)} requests, statuses {sorted(set(statuses))}")


def test_the_document_declares_the_error_bodies_really_sent(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ValidationErrorBody"]["required"]) == {"detail", "errors"}
    assert schemas["ValidationErrorBody"]["properties"]["detail"]["type"] == "string"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for code, response in operation["responses"].items():
                if code == "422":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ValidationErrorBody"), (method, path)
                elif code[0] in "45":
                    assert "content" in response, (method, path, code)
    sent = client.post("/signup", json={"username": "x", "password": ""})
    assert sent.status_code == 422
    assert set(sent.json()) == {"detail", "errors"} and isinstance(sent.json()["detail"], str)
