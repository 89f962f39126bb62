"""Sign-up and token bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]+$"
MAX_PASSWORD_LENGTH = 1024

Username = Annotated[str, StringConstraints(min_length=3, max_length=50, pattern=USERNAME_PATTERN)]


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Password = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH), AfterValidator(_encodable)
]


class SignupRequest(BaseModel):
    """A new account. Any other field (``disabled``, ``role``, ...) is ignored: every
    account made here is an enabled normal user."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"username": "newuser", "password": "a long passphrase"}]},
    )

    username: Username = Field(description="3-50 letters, digits or _ . @ + -")
    password: Password


class UserPublic(BaseModel):
    id: int
    username: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
