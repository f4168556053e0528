"""Read and write the config file (YAML), and find the sections every app registers."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import yaml
from django.apps import apps

from oncall.config.registry import ConfigError

_loaded = False


def load_sections() -> None:
    """Register every section: the people sections and each app's ``config_section`` module.

    An app plugs in by creating ``<app>/config_section.py`` that calls ``register_section``.
    """
    global _loaded
    if _loaded:
        return
    importlib.import_module("oncall.people.config_section")
    for app in apps.get_app_configs():
        name = f"{app.name}.config_section"
        # find_spec only says whether the module exists; a broken module still raises.
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    _loaded = True


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    # PyYAML raises a bare ValueError (no line, no column) for dates like 2026-13-03.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid date or time {node.value!r}: {exc}", node.start_mark
        ) from None


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def config_parse(*, file: str, text: str) -> dict[str, Any]:
    """Parse the YAML text; an empty file is an empty document."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        raise ConfigError(file, where, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "(document)", f"invalid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(file, "(document)", "expected a mapping of sections at the top level")
    return document


def config_dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
