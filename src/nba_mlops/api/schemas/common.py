"""Field types shared by the request schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _clean_text(value: str) -> str:
    # Control characters and lone surrogates cannot be stored (PostgreSQL JSONB refuses
    # NUL, UTF-8 refuses surrogates); refuse them here with a clear message instead.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise ValueError("must not contain control characters")
    return value


ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_clean_text)
]
