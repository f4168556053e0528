"""Serializer fields the apps' APIs share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers


class CallableChoiceField(serializers.ChoiceField):
    """A choice field whose choices come from a callable (kinds the channels registered at
    start-up), read each time a serializer is built: DRF copies declared fields per
    serializer instance by calling ``__init__`` again."""

    def __init__(self, *, choices: Callable[[], Any], **kwargs: Any) -> None:
        super().__init__(choices=choices(), **kwargs)
