"""Reply templates: ``{{from}}``, ``{{to}}``, ``{{text}}``, ``{{keyword}}``, a regular expression
campaign's groups ``{{1}}`` to ``{{9}}``, and the subscriber's fields from the workspace's lists
(``{{name}}``, the columns of an imported CSV), replaced in a reply, forward or e-mail.

A placeholder with no value (a group the pattern does not have, a misspelt name) is left as
written, so the mistake shows in the message instead of silently vanishing. Values are inserted as
they are: a template is text, not markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+|[1-9])\s*\}\}")
NAMES = ("from", "to", "text", "keyword")


def render(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda found: values.get(found.group(1), found.group(0)), template)


def uses_groups(template: str) -> bool:
    return any(name.isdigit() for name in _PLACEHOLDER.findall(template))


def uses_fields(template: str) -> bool:
    """Whether it names a subscriber field (anything but the built-in names and groups)."""
    return any(not name.isdigit() and name not in NAMES for name in _PLACEHOLDER.findall(template))
