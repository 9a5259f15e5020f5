"""Reading an admin API request: JSON body fields and path ids, each checked, each refusal naming it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mecm.errors import InvalidParameter, Unknown

if TYPE_CHECKING:
    from sqlalchemy import Connection

MAX_ID = 2**31 - 1  # ids of workspaces, lists, broadcasts: SQLite INTEGER, and sane
MAX_BODY = 1_000_000  # bytes
_FIELD_NAME = re.compile(r"^[a-z_]{1,40}$")  # what a template placeholder can name


class Body:
    def __init__(self, raw: bytes) -> None:
        if len(raw) > MAX_BODY:
            raise InvalidParameter("body", f"larger than {MAX_BODY} bytes")
        if not raw.strip():
            self._data: dict[str, Any] = {}
            return
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidParameter("body", "is not JSON (or is nested too deep)") from None
        if not isinstance(data, dict):
            raise InvalidParameter("body", "must be a JSON object")
        self._data = data

    def has(self, name: str) -> bool:
        """Whether the body gives the field (null counts as not given)."""
        return self._data.get(name) is not None

    def text(self, name: str, *, required: bool = False, default: str | None = None,
             max_length: int = 2000) -> str | None:
        value = self._data.get(name)
        if value is None:
            if required:
                raise InvalidParameter(name, "missing")
            return default
        if not isinstance(value, str):
            raise InvalidParameter(name, "must be a string")
        if len(value) > max_length:
            raise InvalidParameter(name, f"longer than {max_length} characters")
        return checked_text(value, name)

    def integer(self, name: str, *, required: bool = False, default: int | None = None, low: int = -MAX_ID,
                high: int = MAX_ID) -> int | None:
        value = self._data.get(name)
        if value is None:
            if required:
                raise InvalidParameter(name, "missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameter(name, "must be an integer")
        if not low <= value <= high:
            raise InvalidParameter(name, f"must be {low} to {high}")
        return value

    def number(self, name: str, *, required: bool = False) -> float | None:
        """A JSON number (integer or not); its range is the caller's to check."""
        value = self._data.get(name)
        if value is None:
            if required:
                raise InvalidParameter(name, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidParameter(name, "must be a number")
        return float(value)

    def boolean(self, name: str, default: bool = False, *, required: bool = False) -> bool:
        if required and self._data.get(name) is None:
            raise InvalidParameter(name, "missing")
        value = self._data.get(name, default)
        if not isinstance(value, bool):
            raise InvalidParameter(name, "must be true or false")
        return value

    def integers(self, name: str, *, most: int = 1000) -> list[int]:
        """A list of at most ``most`` ids (each 1 to MAX_ID); absent: empty."""
        value = self._data.get(name, [])
        if not isinstance(value, list) or len(value) > most or not all(
                isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= MAX_ID for item in value):
            raise InvalidParameter(name, f"must be a list of at most {most} ids (whole numbers from 1 to {MAX_ID})")
        return value

    def texts(self, name: str) -> list[str]:
        value = self._data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value) or len(value) > 20:
            raise InvalidParameter(name, "must be a list of at most 20 strings")
        return [checked_text(item, name) for item in value]

    def mapping(self, name: str) -> dict[str, str]:
        value = self._data.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()) or len(value) > 50:
            raise InvalidParameter(name, "must be an object of at most 50 string values")
        for key in value:
            if not _FIELD_NAME.match(key):
                raise InvalidParameter(name, f"field name {key!r} is not 1 to 40 of a-z and _ "
                                             "(what a {{placeholder}} can name)")
        return {key: checked_text(v, name) for key, v in value.items()}


    def scalars(self, name: str) -> dict[str, Any]:
        """An object of at most 50 text, number or true/false values (the checks of each are the
        use case's)."""
        value = self._data.get(name, {})
        if not isinstance(value, dict) or len(value) > 50 or \
                not all(isinstance(v, (str, int, float, bool)) or v is None for v in value.values()):
            raise InvalidParameter(name, "must be an object of at most 50 text, number or true/false values")
        return {checked_text(key, name): checked_text(v, name) if isinstance(v, str) else v
                for key, v in value.items()}


def checked_text(value: str, name: str) -> str:
    """Text SQLite and every later step can hold: UTF-8 encodable (no lone surrogate), no NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(name, "is not valid Unicode text") from None
    if "\0" in value:
        raise InvalidParameter(name, "contains a NUL character")
    return value


def path_id(raw: str, name: str) -> int:
    """An id from the path, parsed here (not by the router: a 5,000-digit number must be a 400)."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 1 <= int(raw) <= MAX_ID:
        raise InvalidParameter(name, f"must be a number from 1 to {MAX_ID}")
    return int(raw)


def query_flag(query: Mapping[str, str], name: str) -> bool:
    """A true/false query parameter (absent: false)."""
    raw = query.get(name, "false")
    if raw not in ("true", "false"):
        raise InvalidParameter(name, "must be true or false")
    return raw == "true"


def in_body_spelling(change: Callable[[Connection], Any], renamed: Mapping[str, str] | None = None
                     ) -> Callable[[Connection], Any]:
    """The use cases name options as the CLI spells them (expires-in, cap-window-s); here they are
    body fields (expires_in, cap_window_s), and ``renamed`` gives those spelt otherwise."""
    def run(connection: Connection) -> Any:
        try:
            return change(connection)
        except Unknown:
            raise  # names a path's id: a 404 as it is
        except InvalidParameter as error:
            name = (renamed or {}).get(error.name, error.name)
            raise InvalidParameter(name.replace("-", "_"), error.reason) from None

    return run
