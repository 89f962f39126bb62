"""Bodies of error answers, as the OpenAPI document declares them.

Every error is JSON with a human ``detail``; a validation error (422) also lists each
offending field with its own message, where FastAPI's default body would have been a
list of pydantic's raw errors.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Any error answer other than 422."""

    detail: str = Field(description="What went wrong, in words")


class FieldError(BaseModel):
    field: str = Field(description="The field, e.g. `loc_x`, `shots[3].loc_y` or `body`")
    message: str


class ValidationErrorBody(BaseModel):
    """422: the request was understood but some fields are invalid."""

    detail: str = Field(description="The first few problems in one sentence")
    errors: list[FieldError] = Field(description="Every problem, one per field")
