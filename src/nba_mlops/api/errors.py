"""Every error answer is JSON with a human ``detail``; validation errors also name fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from nba_mlops.api.schemas.errors import ErrorBody, FieldError, ValidationErrorBody
from nba_mlops.api.schemas.shots import SHAPE_TAGS
from nba_mlops.auth.passwords import HashingBusyError
from nba_mlops.db.session import DatabaseUnavailableError, is_unavailable
from nba_mlops.inference.predictor import ModelUnavailableError
from nba_mlops.inference.remote import PredictionServiceUnavailableError
from nba_mlops.log import get_logger

logger = get_logger(__name__)

_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_RETRY_AFTER_S = "5"
DATABASE_DOWN = "The database is unavailable; please retry shortly"


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "shots", 3, "raw", "loc_x")`` -> ``"shots[3].loc_x"``."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        where = parts.pop(0)
        if where == "body" and parts and isinstance(parts[0], int):
            parts.pop(0)  # the character offset of a JSON syntax error
        if not parts:
            return "body" if where == "body" else where
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part in SHAPE_TAGS or str(part).startswith("function-"):
            continue
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"Malformed JSON ({reason})" if reason else "Malformed JSON"
    if error.get("type") == "extra_forbidden":
        return "Unknown field"
    if error.get("type") == "missing":
        return "Field required"
    message = str(error.get("msg", "Invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def validation_payload(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    items = [{"field": field_name(e.get("loc", ())), "message": _message(e)} for e in errors]
    shown = "; ".join(f"{i['field']}: {i['message']}" for i in items[:3])
    more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
    return {"detail": f"Invalid request: {shown}{more}", "errors": items}


def invalid_field(field: str, message: str, where: str = "body") -> RequestValidationError:
    """A validation error raised by an endpoint (e.g. a password shorter than the setting)."""
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])


def mapping_error(
    exc: ValidationError, where: Sequence[str | int], rename: Callable[[str], str] = str
) -> RequestValidationError:
    """A validation error raised while turning an accepted body into something else (the
    original payload into raw shot fields), as a 422 naming the field at ``where``.

    ``rename`` gives the field's name as the client sent it.
    """
    errors = []
    for error in exc.errors():
        loc = [rename(part) if isinstance(part, str) else part for part in error["loc"]]
        mapped = ".".join(str(part) for part in error["loc"])
        message = f"{error['msg']} (it gives {mapped} = {error.get('input')})"
        errors.append({"loc": ("body", *where, *loc), "msg": message, "type": error["type"]})
    return RequestValidationError(errors)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_payload(list(exc.errors())), status_code=422)


_CLEARER = {
    # FastAPI's words when the body is not UTF-8 or holds an integer Python won't parse.
    "There was an error parsing the body": (
        "The request body could not be read as JSON (not UTF-8, or a number too long)"
    ),
}


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = _CLEARER.get(exc.detail, exc.detail) if isinstance(exc.detail, str) else exc.detail
    return JSONResponse(
        {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def unavailable_response(detail: str) -> JSONResponse:
    """503 with ``Retry-After``: the request was fine, a dependency is missing."""
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": _RETRY_AFTER_S}
    )


async def _hashing_busy(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HashingBusyError)
    return JSONResponse(
        {"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after_s)}
    )


async def _model_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return unavailable_response(str(exc))


async def _service_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return unavailable_response(str(exc))


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return unavailable_response(str(exc) or DATABASE_DOWN)


def _server_error(exc: Exception, what: str) -> JSONResponse:
    """503 when the database cannot be reached (the client may retry), else a logged 500
    that tells the client nothing of the cause."""
    if is_unavailable(exc):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return unavailable_response(DATABASE_DOWN)
    logger.error(what, exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    return _server_error(exc, "database error")


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    return _server_error(exc, "unhandled error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(HashingBusyError, _hashing_busy)
    app.add_exception_handler(ModelUnavailableError, _model_unavailable)
    app.add_exception_handler(PredictionServiceUnavailableError, _service_unavailable)
    app.add_exception_handler(DatabaseUnavailableError, _database_unavailable)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


_REF = "#/components/schemas/{model}"


def declare_error_bodies(app: FastAPI) -> None:
    """Make the OpenAPI document declare the error bodies this API really sends.

    FastAPI documents its own 422 body (``detail`` as a list of pydantic errors); the
    handlers above send ``detail`` as text plus ``errors`` (:class:`ValidationErrorBody`).
    Every other documented error answer gets :class:`ErrorBody` unless it says otherwise.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _declare(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, FieldError, ValidationErrorBody):
        body = model.model_json_schema(ref_template=_REF)
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body could not be read"})
                responses.setdefault(
                    "413", {"description": "The body is larger than serving.max_body_bytes"}
                )
            for code, response in responses.items():
                if code == "422":
                    body = {"$ref": _REF.format(model=ValidationErrorBody.__name__)}
                    response["content"] = {"application/json": {"schema": body}}
                elif code[:1] in {"4", "5"} and "content" not in response:
                    body = {"$ref": _REF.format(model=ErrorBody.__name__)}
                    response["content"] = {"application/json": {"schema": body}}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
