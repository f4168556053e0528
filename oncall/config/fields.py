"""Readers for raw YAML values: check shape and type, fail with the path inside the file.

Sections use them so that every problem is reported the same way, e.g.
``oncall.yaml: engineers[1].contact_methods[0].value: expected a string, got an integer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from oncall.config.registry import ApplyContext

T = TypeVar("T")

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    float: "a number",
}


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    for py_type in (bool, str, int, float, list, dict):
        if isinstance(value, py_type):
            return _TYPE_NAMES[py_type]
    return type(value).__name__


@dataclass(frozen=True)
class Field:
    """One key of a mapping: its type, whether it is required, and its default."""

    type: type
    required: bool = False
    default: Any = None


def _wrong_type(ctx: ApplyContext, path: str, expected: type, value: Any) -> None:
    problem = f"expected {_TYPE_NAMES[expected]}, got {type_name(value)}"
    if expected is str and isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted +15550100 as the integer 15550100.
        problem += f' ({value!r}; quote values such as phone numbers: "+{value}")'
    ctx.fail(path, problem)


def read_value(ctx: ApplyContext, value: Any, path: str, expected: type) -> Any:
    # bool is a subclass of int in Python; YAML's `true` is not a number here.
    if isinstance(value, bool) and expected is not bool:
        _wrong_type(ctx, path, expected, value)
    if not isinstance(value, expected):
        _wrong_type(ctx, path, expected, value)
    return value


def read_list(ctx: ApplyContext, value: Any, path: str) -> list[Any]:
    return read_value(ctx, value, path, list)


def read_mapping(
    ctx: ApplyContext, value: Any, path: str, fields: Mapping[str, Field]
) -> dict[str, Any]:
    """Check ``value`` is a mapping with only known keys of the right types; fill defaults."""
    read_value(ctx, value, path, dict)
    for key in value:
        if key not in fields:
            known = ", ".join(fields)
            ctx.fail(join(path, str(key)), f"unknown field {key!r} (known fields: {known})")
    result: dict[str, Any] = {}
    for key, spec in fields.items():
        if key not in value:
            if spec.required:
                ctx.fail(join(path, key), "required field is missing")
            result[key] = spec.default() if callable(spec.default) else spec.default
            continue
        result[key] = read_value(ctx, value[key], join(path, key), spec.type)
        if spec.type is str and spec.required and not result[key].strip():
            ctx.fail(join(path, key), "must not be empty")
    return result


def read_choice(ctx: ApplyContext, value: str, path: str, choices: Iterable[str]) -> str:
    allowed = list(choices)
    if value not in allowed:
        ctx.fail(path, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def clean_model(
    ctx: ApplyContext,
    obj: models.Model,
    path: str,
    field_paths: Mapping[str, str] | None = None,
    exclude: list[str] | None = None,
) -> None:
    """``full_clean()`` the row; a validation error names the file key it came from.

    ``field_paths`` maps model field names to keys in the file when they differ.
    """
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        field_name, messages = next(iter(errors.items()))
        key = (field_paths or {}).get(field_name, field_name)
        where = path if field_name == "__all__" else join(path, key)
        ctx.fail(where, "; ".join(messages))


def service_call(
    ctx: ApplyContext,
    path: str,
    # Called with no arguments; `...` because sections bind loop values as lambda
    # defaults, which mypy cannot infer against `Callable[[], T]`.
    call: Callable[..., T],
    field_paths: Mapping[str, str] | None = None,
) -> T:
    """Run a service (the write path the API and the admin use too); its
    ``ValidationError`` becomes a config error at ``path`` and the field it names
    (``field_paths`` maps a service's field names to keys in the file when they differ)."""
    try:
        return call()
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            ctx.fail(path, "; ".join(exc.messages))
        field_name, messages = next(iter(exc.message_dict.items()))
        if field_name == NON_FIELD_ERRORS:
            ctx.fail(path, "; ".join(messages))
        ctx.fail(join(path, (field_paths or {}).get(field_name, field_name)), "; ".join(messages))


def diff(obj: object, wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields of ``obj`` that differ from ``wanted``: {name: (old, new)}."""
    return {
        name: (getattr(obj, name), new) for name, new in wanted.items() if getattr(obj, name) != new
    }


def describe_diff(changes: Mapping[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in changes.items())
