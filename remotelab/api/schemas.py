"""Request and response bodies (pydantic), used for validation and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from remotelab.device.outputs import DEFAULT_BENCH


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


class HealthOut(BaseModel):
    status: Literal["ok"] = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])


class IndexOut(BaseModel):
    """``GET /`` without a built webapp (with one, ``/`` and other paths serve its files)."""

    name: Literal["remotelab"] = Field(examples=["remotelab"])
    version: str = Field(examples=["0.1.0"])
    webapp: str = Field(examples=["not built (run `make webapp`)"])
    openapi: str = Field(examples=["/openapi.json"])


class ErrorOut(BaseModel):
    """The one error shape (compatible with the Open Event server's `{"error": ...}`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": "Invalid Credentials", "code": "invalid_credentials"},
                {
                    "error": "title: at most 200 characters",
                    "code": "bad_request",
                    "details": {"field": "title"},
                },
            ]
        }
    )

    error: str
    code: str
    details: dict[str, Any] | None = None


# ------------------------------------------------------------------ accounts


class SignUpIn(Strict):
    email: str = Field(min_length=3, max_length=120, examples=["ada@example.org"])
    password: str = Field(examples=["correct horse battery"])
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "email": "ada@example.org",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "name": "Ada Lovelace",
                    "role": "student",
                    "is_verified": False,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"old-password": "old secret", "new-password": "new one!"}]}
    )

    old_password: str = Field(alias="old-password")
    new_password: str = Field(alias="new-password")


class ChangePasswordIn(Strict):
    data: ChangePasswordData


class ResetRequestData(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ada@example.org"}]})

    email: str = Field(max_length=320)


class ResetRequestIn(Strict):
    data: ResetRequestData


class ResetCompleteData(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": "the token from the link", "password": "new one!"}]
        }
    )

    token: str = Field(max_length=200)
    password: str


class ResetCompleteIn(Strict):
    data: ResetCompleteData


class MessageOut(BaseModel):
    message: str


class NoticeOut(BaseModel):
    """The same answer whether or not the email has an account (no account probing)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": "If your email was registered with us, you'll get an email with "
                    "reset link shortly",
                    "email": "ada@example.org",
                }
            ]
        }
    )

    message: str
    email: str


class PasswordChangedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "email": "ada@example.org",
                    "name": "Ada Lovelace",
                    "password-changed": True,
                    "access_token": "eyJhbGciOiJIUzI1NiJ9...",
                }
            ]
        }
    )

    id: int
    email: str
    name: str | None
    password_changed: Literal[True] = Field(alias="password-changed")
    access_token: str


class ResetDoneOut(BaseModel):
    id: int = Field(examples=[1])
    email: str = Field(examples=["ada@example.org"])
    name: str | None = Field(examples=["Ada Lovelace"])


class VerifyEmailData(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "the token from the verification link"}]}
    )

    token: str = Field(max_length=200)


class VerifyEmailIn(Strict):
    """The event server's body: `{"data": {"token": ...}}`."""

    data: VerifyEmailData


class VerifiedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Email Verified", "email": "ada@example.org"}]}
    )

    message: str
    email: str


class ResendVerificationData(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ada@example.org"}]})

    email: str = Field(max_length=320)


class ResendVerificationIn(Strict):
    """The event server's body: `{"data": {"email": ...}}`."""

    data: ResendVerificationData


class RoleIn(Strict):
    role: Literal["student", "teacher"]


# ------------------------------------------------------------------ scripts


class ScriptIn(Strict):
    title: str = Field(min_length=1, examples=["RC charging"])
    code: str = Field(default="", examples=["print(get_voltage('CH1'))"])
    description: str = ""
    level: str | None = Field(
        default=None,
        description="`beginner`, `intermediate` or `advanced`; null or empty for none.",
        examples=["beginner"],
    )
    author: str | None = Field(
        default=None,
        description="Shown on the published example; when publishing without one, the "
        "teacher's name.",
        examples=["Ms. Rivera, Physics"],
    )


class ScriptPatch(Strict):
    """Fields left out (or null) stay as they are; an empty `level` or `author` clears it."""

    title: str | None = Field(default=None, min_length=1)
    code: str | None = None
    description: str | None = None
    level: str | None = None
    author: str | None = None
    published: bool | None = None


class ScriptOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "title": "Ohm's law",
                    "description": "Measure the resistor on RES.",
                    "code": "print(get_resistance())",
                    "level": "beginner",
                    "author": "Ms. Rivera",
                    "published": True,
                    "published_at": "2026-11-24T10:05:00Z",
                    "owner_id": 1,
                    "builtin": False,
                    "created_at": "2026-11-24T10:00:00Z",
                    "updated_at": "2026-11-24T10:05:00Z",
                }
            ]
        }
    )

    id: int
    title: str
    description: str
    code: str
    level: str | None
    author: str | None
    published: bool
    published_at: datetime | None
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


# ------------------------------------------------------------------ instruments


class FunctionParamOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "channel",
                    "type": "str",
                    "required": True,
                    "default": None,
                    "choices": ["CH1", "CH2", "CH3", "MIC", "CAP", "RES", "VOL"],
                    "aliases": None,
                    "minimum": None,
                    "maximum": None,
                    "max_exclusive": False,
                    "unit": None,
                    "min_items": None,
                    "max_items": None,
                    "doc": "Analog input to read.",
                }
            ]
        }
    )

    name: str
    type: str
    required: bool
    default: Any
    choices: list[Any] | None
    aliases: dict[str, Any] | None
    minimum: float | None
    maximum: float | None
    max_exclusive: bool
    unit: str | None
    min_items: int | None
    max_items: int | None
    doc: str


class FunctionReturnsOut(BaseModel):
    type: str = Field(examples=["float"])
    unit: str | None = Field(examples=["V"])
    doc: str = Field(examples=["The voltage."])


class FunctionOut(BaseModel):
    name: str = Field(examples=["get_voltage"])
    signature: str = Field(examples=["get_voltage(channel)"])
    doc: str
    category: str
    legacy: bool
    shared: bool
    see_also: list[str]
    example: str = Field(examples=["get_voltage('CH1')"])
    params: list[FunctionParamOut]
    returns: FunctionReturnsOut


class FunctionsOut(BaseModel):
    functions: list[FunctionOut]


class FunctionRunIn(Strict):
    function: str = Field(examples=["get_voltage('CH1')", "capture1('CH1', 1000, 1)"])
    stacking: str | None = Field(
        default=None,
        max_length=20,
        examples=["xy"],
        description="Also return the result stacked into plot series (`xy`, `xyy`, ...).",
    )


class PlotLabels(BaseModel):
    x_label: str = Field(examples=["Time (µs)"])
    y_label: str = Field(examples=["Voltage (V)"])
    labels: list[str] = Field(examples=[["CH1", "CH2"]], description="One per y list.")


class FunctionRunOut(BaseModel):
    function: str = Field(examples=["get_voltage"])
    result: Any = Field(examples=[1.2345])
    notes: list[str] = Field(description="Values that were changed to be valid JSON (inf/nan).")
    elapsed_ms: float
    changed: list[str] = Field(
        examples=[["SI1"]],
        description="The outputs whose value the call changed in your context (empty for "
        "readings).",
    )
    unit: str | None = Field(
        examples=["V"],
        description="The unit of the result (of a capture's y lists), as `GET /v1/functions` "
        "lists it; null when it has none.",
    )
    plot: PlotLabels | None = Field(
        default=None, description="For a capture: how to label a plot of it."
    )
    series: list[Any] | None = None


BENCH_EXAMPLE = DEFAULT_BENCH.to_json()
MY_OUTPUTS_EXAMPLE = {
    **BENCH_EXAMPLE,
    "SI1": {"shape": "sine", "frequency": 2000.0, "phase": None},
    "PV1": 1.5,
}


class ContextOut(BaseModel):
    """Your own instrument: the bench's outputs with the ones you set."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outputs": MY_OUTPUTS_EXAMPLE,
                    "differs_from_bench": ["SI1", "PV1"],
                    "fingerprint": "0838fa8cd87cd9dd",
                    "expires_in": 3540.5,
                }
            ]
        }
    )

    outputs: dict[str, Any] = Field(
        description="Every output by name: SI1/SI2 {shape, frequency, phase}, PV1-PV3 (V), "
        "PCS (A), SQ1-SQ4 {mode, ...}, CH1_RANGE/CH2_RANGE (V)."
    )
    differs_from_bench: list[str]
    fingerprint: str = Field(description="Equal for users whose outputs are all equal.")
    expires_in: float | None = Field(
        description="Seconds until your own outputs are forgotten unless you use the "
        "instrument (null: you have none)."
    )


class SwitchesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 42, "mean_ms": 0.41}]})

    count: int
    mean_ms: float | None


class BenchIn(Strict):
    outputs: dict[str, Any] = Field(
        examples=[{"SI1": {"shape": "sine", "frequency": 500}, "PV1": 1.0}],
        description="Outputs to change, by name (the others keep their bench value); checked "
        "like the arguments of the functions that set them.",
    )
    experiment: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["RC filter"],
        description="The experiment whose bench to change (its `name`); absent: yours.",
    )


class BenchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "experiment": "default",
                    "outputs": {**BENCH_EXAMPLE, "PV1": 1.0},
                    "differs_from_default": ["PV1"],
                    "changed": ["PV1"],
                }
            ]
        }
    )

    experiment: str = Field(description="The experiment whose bench this is.")
    outputs: dict[str, Any]
    differs_from_default: list[str] = Field(
        description="Outputs that differ from the configured bench (the bench file's or the "
        "default); they are kept across restarts."
    )
    changed: list[str] = Field(description="Outputs this request changed.")


class QueueOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"length": 3, "running": True, "max": 256, "your_position": 2}]
        }
    )

    length: int
    running: bool
    max: int
    your_position: int | None


class HoldOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"by": "another user", "seconds_left": 4.2, "waiting": 0}]}
    )

    by: Literal["you", "another user"] = Field(
        description="Who holds the device: you, or another user (never named)."
    )
    seconds_left: float = Field(description="Seconds until the hold ends at the latest.")
    waiting: int = Field(description="Holds waiting for their turn after this one.")


class DeviceOut(BaseModel):
    backend: Literal["emulator", "pslab"]
    port: str
    fallback: str | None = Field(
        description="Why the emulator serves although hardware was asked for (device auto)."
    )
    realtime: bool
    wiring: list[str] | None = None
    state: Literal["connecting", "connected", "faulted", "closed"]
    connected: bool
    faulted: bool
    fault: str | None
    firmware: str | None
    queue: QueueOut
    calls_served: int
    hold: HoldOut | None = Field(
        description="A script's hold of the device (`with hold(seconds):`): meanwhile only "
        "the holder's calls run, yours wait. None: nobody holds it."
    )
    switches: SwitchesOut
    context: ContextOut
    bench: dict[str, Any] = Field(
        examples=[BENCH_EXAMPLE], description="The bench: what a user who set nothing has."
    )
    checked_at: float


class DeviceSummaryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "bench-1",
                    "host": "pi-lab-3",
                    "backend": "pslab",
                    "bench": "rc-filter",
                    "firmware": "3.0.0",
                    "state": "connected",
                    "queue": 2,
                    "yours": True,
                }
            ]
        }
    )

    name: str = Field(description="The device's name (`local` in the embedded default).")
    host: str
    backend: str = Field(description="`emulator` or `pslab ...` (its port).")
    bench: str = Field(description="The bench file it serves (its stem), or `default`.")
    experiment: str = Field(
        description="The experiment its bench serves (the bench file's `[experiment]` name, "
        "else the bench's)."
    )
    firmware: str | None
    state: Literal["connecting", "connected", "faulted", "closed"]
    queue: int = Field(description="Calls waiting for it now.")
    yours: bool = Field(description="Whether your calls go to this device.")


class DevicesOut(BaseModel):
    devices: list[DeviceSummaryOut]


class ExperimentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "RC filter",
                    "description": "SI1 through 1 kΩ and 1 µF to CH1",
                    "devices": ["bench-a", "bench-b"],
                    "free": 1,
                    "busy": 1,
                    "queue": 3,
                    "yours": True,
                }
            ]
        }
    )

    name: str = Field(description="The bench file's `[experiment]` name, else the bench's.")
    description: str = Field(description="The bench file's `[experiment]` description, or ''.")
    devices: list[str] = Field(description="The devices serving it (their names), up now.")
    free: int = Field(description="Its devices connected with no call queued and no hold.")
    busy: int = Field(description="Its devices connected with calls queued or a hold.")
    queue: int = Field(description="Calls waiting on its devices now.")
    yours: bool = Field(description="Whether your calls go to one of its devices.")


class ExperimentsOut(BaseModel):
    experiments: list[ExperimentOut]


class ExperimentIn(Strict):
    experiment: str = Field(
        min_length=1, max_length=64, examples=["RC filter"], description="Its `name`."
    )


# ------------------------------------------------------------------ runs


class RunIn(Strict):
    code: str = Field(examples=["x = linspace(0, 1, 5)\nprint(get_voltage('CH1'))"])


class RunErrorOut(BaseModel):
    type: str = Field(examples=["ZeroDivisionError"])
    message: str = Field(examples=["division by zero"])
    line: int | None = Field(examples=[3])


class RunStatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"wall_ms": 6.1, "cpu_ms": 2.0, "device_calls": 1, "max_rss_kb": 61000}]
        }
    )

    wall_ms: float
    cpu_ms: float
    device_calls: int
    max_rss_kb: int


class RunOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "widgets": [{"type": "text", "name": "print", "value": ["1.234"]}],
                    "stdout": "1.234\n",
                    "error": None,
                    "stats": {
                        "wall_ms": 6.1,
                        "cpu_ms": 2.0,
                        "device_calls": 1,
                        "max_rss_kb": 61000,
                    },
                    "changed": [],
                }
            ]
        }
    )

    status: Literal["ok", "error", "timeout", "killed", "cancelled"]
    widgets: list[dict[str, Any]]
    stdout: str
    error: RunErrorOut | None
    stats: RunStatsOut
    changed: list[str] = Field(
        default_factory=list,
        description="The outputs whose value the run's instrument calls changed in your context.",
    )


class RunHistoryItemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "status": "timeout",
                    "started_at": "2026-12-01T10:00:00Z",
                    "duration_ms": 10003.2,
                    "widgets": [{"type": "text", "name": "print", "value": ["1"]}],
                    "widgets_omitted": False,
                    "stdout": "1\n",
                    "error": {"type": "Timeout", "message": "the script ran longer...", "line": 4},
                    "stats": {
                        "wall_ms": 10003.2,
                        "cpu_ms": 9990.0,
                        "device_calls": 0,
                        "max_rss_kb": 31000,
                    },
                }
            ]
        }
    )

    id: int
    status: Literal["ok", "error", "timeout", "killed", "cancelled"]
    started_at: datetime
    duration_ms: float
    widgets: list[dict[str, Any]]
    widgets_omitted: bool
    stdout: str
    error: RunErrorOut | None
    stats: RunStatsOut | None


class RunHistoryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "keep": 10}]})

    items: list[RunHistoryItemOut]
    keep: int = Field(description="Runs kept per script (REMOTELAB_SCRIPT_RUN_HISTORY).")
