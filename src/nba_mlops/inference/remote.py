"""Score through a separate prediction service (``PREDICTION_SERVICE_URL``) over HTTP.

Same interface as the in-process :class:`~nba_mlops.inference.predictor.Predictor`;
one pooled ``httpx.AsyncClient`` per process with bounded time-outs. A service that is
down or answers garbage becomes :class:`PredictionServiceUnavailableError` (503 upstream),
a service without a champion becomes ``ModelUnavailableError`` with the service's message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from nba_mlops.config import Settings
from nba_mlops.inference.microbatch import Record, Scored
from nba_mlops.inference.predictor import ModelInfo, ModelUnavailableError, ReloadOutcome
from nba_mlops.log import get_logger

logger = get_logger(__name__)


class PredictionServiceUnavailableError(RuntimeError):
    """The prediction service could not be reached or gave no usable answer."""


class RemotePredictor:
    """A client of ``nba_mlops.api.service_app``."""

    def __init__(
        self,
        settings: Settings,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def remote(self) -> bool:
        return True

    async def start(self, *, watch: bool = True) -> None:
        timeout_s = self.settings.serving.prediction_service_timeout_s
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=128),
            transport=self._transport,
        )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._client is None:
            raise RuntimeError("RemotePredictor.start() was not called")
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PredictionServiceUnavailableError(
                f"The prediction service at {self.base_url} is unavailable "
                f"({exc.__class__.__name__}); please retry shortly"
            ) from exc
        if response.status_code == 503:
            raise ModelUnavailableError(_detail(response) or "The prediction service has no model")
        if response.status_code != 200:
            raise PredictionServiceUnavailableError(
                f"The prediction service at {self.base_url} answered {response.status_code}: "
                f"{_detail(response) or 'no detail'}"
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise PredictionServiceUnavailableError(
                f"The prediction service at {self.base_url} answered something that is not JSON"
            ) from exc

    async def predict(self, records: Sequence[Record]) -> Scored:
        body = orjson.dumps({"records": list(records)})
        data = await self._call(
            "POST", "/predict", content=body, headers={"content-type": "application/json"}
        )
        try:
            probabilities = [float(p) for p in data["probabilities"]]
            version = str(data["model_version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PredictionServiceUnavailableError(
                "The prediction service answered badly"
            ) from exc
        if len(probabilities) != len(records):
            raise PredictionServiceUnavailableError("The prediction service lost shots of a batch")
        return Scored(probabilities, version)

    async def reload(self, *, force: bool = False) -> ReloadOutcome:
        data = await self._call("POST", "/models/reload", params={"force": str(force).lower()})
        return ReloadOutcome(
            bool(data.get("changed")),
            data.get("version"),
            data.get("previous"),
            str(data.get("message", "")),
        )

    async def model_info(self) -> ModelInfo | None:
        try:
            data = await self._call("GET", "/models/current")
        except ModelUnavailableError:
            return None
        promoted = data.get("promoted_at")
        return ModelInfo(
            name=str(data["name"]),
            version=str(data["version"]),
            metrics={k: float(v) for k, v in (data.get("metrics") or {}).items() if v is not None},
            promoted_at=dt.datetime.fromisoformat(promoted) if promoted else None,
        )

    async def players(self, q: str | None, limit: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if q:
            params["q"] = q
        data = await self._call("GET", "/players", params=params)
        return list(data.get("players", []))

    async def ready(self) -> tuple[bool, str]:
        try:
            data = await self._call("GET", "/ready")
        except (PredictionServiceUnavailableError, ModelUnavailableError) as exc:
            return False, str(exc)
        return True, f"prediction service: {data.get('model', 'ready')}"


def _detail(response: httpx.Response) -> str | None:
    try:
        detail = orjson.loads(response.content).get("detail")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return str(detail) if detail else None
