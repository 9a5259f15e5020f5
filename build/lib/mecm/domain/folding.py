"""Folding text for keyword comparison: case and accents ignored.

Subscribers type "Baja", "BAJA", "baja." and "Bajá" for the same keyword, and phones without an
accented keyboard drop accents. A keyword and a message are compared after both are folded:
Unicode case folding, then the combining marks that NFKD splits off removed ("á" becomes "a",
"ñ" becomes "n"; the fullwidth "ＳＴＯＰ" of some keyboards becomes "stop").
"""

from __future__ import annotations

import unicodedata

# Around a keyword, not inside it: "STOP!", "¡Baja!", "'stop'".
_EDGE_PUNCTUATION = " \t\r\n.,;:!?¡¿'\"()[]*-_"


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (compare folded with folded)."""
    return strip_accents(text.casefold())


def strip_accents(text: str) -> str:
    """``text`` without its accents, case kept: what a regular expression is searched in (and what
    its pattern becomes), with RE2 ignoring case itself. ASCII text, regex syntax included, is
    returned as it is."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_keyword(text: str) -> str:
    """A message or keyword folded, with surrounding whitespace and punctuation removed and inner
    runs of whitespace made one space: the form whole-message keywords are compared in."""
    return " ".join(fold(text).strip(_EDGE_PUNCTUATION).split())
