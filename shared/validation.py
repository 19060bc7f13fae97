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


def id_list(value: Any, field: str = "application_ids", limit: int = 1000) -> list[str]:
    """A list of ids passed between services (e.g. a candidate's applications, from sourcing)."""
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, str) and 0 < len(v) <= 100
                                                                    for v in value):
        raise Invalid(f"{field}: expected a list of at most {limit} ids", field=field)
    return value
