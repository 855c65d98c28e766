"""Request and response bodies (pydantic), used for validation and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def check_text(value: str) -> str:
    """Refuse text that no database can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (lone surrogate)") from None
    return value


class Strict(BaseModel):
    # JSON types are taken as they are: "5" is not a number, 1 is not a string.
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return check_text(value) if isinstance(value, str) else value


# ------------------------------------------------------------------ accounts


class SignUpIn(Strict):
    email: str = Field(min_length=3, max_length=120, examples=["ada@example.org"])
    password: str = Field(examples=["correct horse battery"])
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class UserOut(BaseModel):
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    name: str | None
    role: Literal["student", "teacher", "admin"]
    is_verified: bool


class LoginIn(BaseModel):
    """The event server's login body. Missing fields answer 400 ``username or password missing``."""

    email: str = Field(examples=["ada@example.org"])
    password: str = Field(examples=["correct horse battery"])
    remember_me: bool = Field(default=False, alias="remember-me")


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str


class AccessTokenOut(BaseModel):
    access_token: str


class ChangePasswordData(Strict):
    old_password: str = Field(alias="old-password")
    new_password: str = Field(alias="new-password")


class ChangePasswordIn(Strict):
    data: ChangePasswordData


class ResetRequestData(Strict):
    email: str = Field(max_length=320)


class ResetRequestIn(Strict):
    data: ResetRequestData


class ResetCompleteData(Strict):
    token: str = Field(max_length=200)
    password: str


class ResetCompleteIn(Strict):
    data: ResetCompleteData


class MessageOut(BaseModel):
    message: str


class RoleIn(Strict):
    role: Literal["student", "teacher"]


# ------------------------------------------------------------------ scripts


class ScriptIn(Strict):
    title: str = Field(min_length=1, examples=["RC charging"])
    code: str = Field(default="", examples=["print(get_voltage('CH1'))"])
    description: str = ""


class ScriptPatch(Strict):
    title: str | None = Field(default=None, min_length=1)
    code: str | None = None
    description: str | None = None
    published: bool | None = None


class ScriptOut(BaseModel):
    id: int
    title: str
    description: str
    code: str
    level: str | None
    published: bool
    owner_id: int | None
    builtin: bool
    created_at: datetime
    updated_at: datetime


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int | None = Field(default=None, ge=1)
    sort: Literal["created", "-created", "updated", "-updated", "title", "-title"] = "-updated"


class PageOut(BaseModel):
    items: list[Any]
    total: int
    offset: int
    limit: int


class ScriptPage(PageOut):
    items: list[ScriptOut]


class UserPage(PageOut):
    items: list[UserOut]
