"""The busiest request, ``POST /predict``, answered without FastAPI's per-request machinery.

Profiling under load showed FastAPI's routing and dependency resolution costing about
three times the framework's bare floor per request, on the one route that carries
nearly all traffic. This ASGI layer answers the *plain success case* of that route
directly: JSON body, a bearer token that :func:`~nba_mlops.api.deps.authenticate`
accepts (the one check every route makes), a body the very same pydantic schema
accepts, no query string. Anything else (no or bad token, a query
string such as ``?explain=true``, odd content type, invalid or unparsable body, a body
too large) is handed unchanged, with the buffered body
replayed, to the regular route, which produces the usual answer and error. Both paths
share :func:`~nba_mlops.api.routes.predict.score_and_store`, so a prediction is scored
and stored the same way whichever path answered it; the OpenAPI documentation is the
regular route's. ``serving.fast_path = false`` turns this layer off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from nba_mlops.api import deps
from nba_mlops.api.errors import unavailable_response
from nba_mlops.api.routes.predict import score_and_store
from nba_mlops.api.schemas.shots import ShotPayload
from nba_mlops.db.session import DatabaseUnavailableError
from nba_mlops.inference.predictor import ModelUnavailableError
from nba_mlops.inference.remote import PredictionServiceUnavailableError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/predict"
_SHOT = TypeAdapter[Any](ShotPayload)
_UNAVAILABLE = (ModelUnavailableError, DatabaseUnavailableError, PredictionServiceUnavailableError)


class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the path template."""

    path = path_format = PATH
    name = "predict"


_ROUTE = _Route()


class PredictFastPath:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("query_string")  # e.g. ?explain=true: the route answers it
        ):
            await self.app(scope, receive, send)
            return
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        token = _bearer_json(scope) if services is not None else None
        if token is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        handled = await self._answer(scope, services, token, body, send)
        if not handled:
            await self.app(scope, _replay(body, receive), send)

    async def _answer(
        self, scope: Scope, services: Any, token: str, body: bytes, send: Send
    ) -> bool:
        """Answer the request if it is the plain success case; False to hand it over."""
        try:
            # Looked up on the module, so the route and this path always run the same check.
            user = await deps.authenticate(services, token)
        except Exception:
            # Refused (401, 403) or the database is down (503): the regular route runs the
            # same check again, from the status cache, and answers as it always does.
            return False
        try:
            # Mapping the original payload onto raw fields validates again: any error in
            # either step goes to the regular route, which answers 422 naming the field.
            record = _SHOT.validate_python(orjson.loads(body)).to_record()
        except (orjson.JSONDecodeError, ValidationError, ValueError, TypeError):
            return False  # the regular route explains what is wrong
        scope["route"] = _ROUTE
        response: Response
        try:
            (result,), _ = await score_and_store(services, user.id, [record])
        except _UNAVAILABLE as exc:
            response = unavailable_response(str(exc))
        else:
            response = Response(result.model_dump_json(), media_type="application/json")
        await response(scope, _no_body, send)
        return True


def _bearer_json(scope: Scope) -> str | None:
    """The bearer token when the request is JSON with one, else None."""
    content_type = authorization = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"authorization":
            authorization = value
    if not content_type.startswith(b"application/json"):
        return None
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() != b"bearer" or not token:
        return None
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
