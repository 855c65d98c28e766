"""Request bodies: parse JSON, validate with a pydantic model, document it for OpenAPI.

quart-schema's ``validate_request`` builds a pydantic adapter on every request; this
decorator validates with the model's own compiled validator and raises quart-schema's
``RequestSchemaValidationError``, so errors answer exactly as before (400, fields named).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from quart import request
from quart_schema import RequestSchemaValidationError, document_request

from remotelab.api.meta import check_json_type

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def json_body(model: type[BaseModel]) -> Callable[[F], F]:
    """Pass the validated body to the view as ``data``."""

    def decorator(func: F) -> F:
        documented = document_request(model)(func)

        @wraps(documented)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_json_type()
            raw = await request.get_json()
            try:
                data = model.model_validate(raw)
            except ValidationError as exc:
                raise RequestSchemaValidationError(exc) from None
            return await func(*args, data=data, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
