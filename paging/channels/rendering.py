"""Channel templates: each channel folder keeps its message templates beside its code.

A ``TemplateSet`` reads one folder's ``templates/`` directory. Text templates (SMS,
plain e-mail, spoken text) are rendered without HTML escaping; markup templates
(HTML e-mail, TwiML) with it, which is also correct XML escaping.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from django.template import Context, Engine

_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t]+")


class TemplateSet:
    def __init__(self, folder: Path) -> None:
        self.folder = folder / "templates"

    def _engine(self, *, autoescape: bool) -> Engine:
        return Engine(
            dirs=[str(self.folder)],
            autoescape=autoescape,
        )

    @cached_property
    def _text_engine(self) -> Engine:
        return self._engine(autoescape=False)

    @cached_property
    def _markup_engine(self) -> Engine:
        return self._engine(autoescape=True)

    def text(self, name: str, context: dict[str, Any], *, one_line: bool = False) -> str:
        """Render a text template, trimmed; ``one_line`` folds it into one line (SMS, speech)."""
        out = self._text_engine.get_template(name).render(Context(context, autoescape=False))
        if one_line:
            return _SPACES.sub(" ", " ".join(out.split())).strip()
        return _BLANK_LINES.sub("\n\n", out).strip() + "\n"

    def markup(self, name: str, context: dict[str, Any]) -> str:
        return self._markup_engine.get_template(name).render(Context(context)).strip()
