"""The response envelope of SPEC section 4, as XML (default) or JSON.

A result is a tree of ``(name, value)`` pairs where value is a string or a list of child pairs.
Built by string joining, not ElementTree: this runs on every request and is a third of its cost
otherwise. Every text is escaped, and characters XML 1.0 cannot carry become U+FFFD (the JSON form
keeps them).
"""

from __future__ import annotations

import json
import re
from typing import Union

Node = tuple[str, Union[str, "list[Node]"]]

# Elements that may repeat become lists in the JSON form (SPEC section 4).
REPEATABLE = frozenset({"message", "MOMessage"})

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NEEDS_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<response>'


def _escape(value: str) -> str:
    if _NEEDS_WORK.search(value) is None:
        return value  # the usual case: one C-speed scan
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return _NOT_XML.sub("\ufffd", value)


def _xml_nodes(nodes: list[Node], out: list[str]) -> None:
    for name, value in nodes:
        if isinstance(value, str):
            out.append(f"<{name}>{_escape(value)}</{name}>")
        else:
            out.append(f"<{name}>")
            _xml_nodes(value, out)
            out.append(f"</{name}>")


def render_xml(method: str, status: str, description: str, result: list[Node]) -> bytes:
    out = [_HEAD, f"<input>{_escape(method)}</input><status>{status}</status>",
           f"<description>{_escape(description)}</description><result>"]
    _xml_nodes(result, out)
    out.append("</result></response>\n")
    return "".join(out).encode()


def _json_value(nodes: list[Node]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for name, value in nodes:
        converted = value if isinstance(value, str) else _json_value(value)
        if name in REPEATABLE:
            obj.setdefault(name, []).append(converted)  # type: ignore[union-attr]
        else:
            obj[name] = converted
    return obj


def render_json(method: str, status: str, description: str, result: list[Node]) -> bytes:
    body = {"input": method, "status": status, "description": description, "result": _json_value(result)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
