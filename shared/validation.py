"""Parse untrusted input into a contract model; a ValidationError becomes one 422 naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import Invalid, from_validation_error

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    if not isinstance(data, dict):
        raise Invalid("body: expected a JSON object", field=prefix or "body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, prefix) from None
