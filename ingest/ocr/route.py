"""Which pages need OCR, judged from the text layer first and the page's images second.

A page is OCR'd when its text layer is missing, when it is garbage (private-use
glyphs, replacement characters, mojibake, hardly any letters or digits), or
when it holds only a few words while images cover most of the page: a scan
with a stamped page number or a half-OCR'd fax. Pages whose ink is vector text
or drawings are never OCR'd, so born-digital pages cost one pass over their text.

>>> text_layer_problem("")
'no text layer'
>>> text_layer_problem("The warranty lasts two years from the date of delivery.") is None
True
>>> text_layer_problem("\\ue000\\ue001\\ue002 \\ue003\\ue004\\ue005\\ue006 \\ue007\\ue008")
'garbled text layer'
>>> text_layer_problem("Ã©tÃ© trÃ¨s Ã©lÃ¨ve Ã  cÃ´tÃ© dÃ©jÃ  Ã©crit")
'garbled text layer'
>>> text_layer_problem("bsxfun . . . . . . . . . . . . . . . . . . . . . . 628") is None
True
"""

from __future__ import annotations

import re
import unicodedata

# Fewer visible characters than this and the page is "short": its images are looked at.
SHORT_PAGE_CHARS = 200
# Share of the page's area that images must cover for a short page to count as a scan:
# a scan covers the whole page; a born-digital figure leaves at least the margins.
SCAN_IMAGE_COVERAGE = 0.8
_GARBAGE_SHARE = 0.1
_MIN_WORDLIKE_SHARE = 0.3
# UTF-8 read as Latin-1/cp1252: "Ã©", "Ã¨", "Â " ...
# Leaders and rules ("Install . . . . 12", "Name: ____"): an index page is mostly dots.
_LEADERS = re.compile(r"(?:\.\s?){3,}|_{3,}|-{3,}|…")
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d]")


def _is_private_use(ch: str) -> bool:
    return unicodedata.category(ch) == "Co"


def _is_junk(ch: str) -> bool:
    """Glyphs with no meaning to a reader: private use, U+FFFD, control characters."""
    if ch == "\ufffd" or _is_private_use(ch):
        return True
    return unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f"


def visible_chars(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def text_layer_problem(text: str) -> str | None:
    """Why the text layer cannot be used as it is, or None when it looks like text."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return "no text layer"
    n = len(chars)
    if sum(map(_is_junk, chars)) > _GARBAGE_SHARE * n:
        return "garbled text layer"
    if len(_MOJIBAKE.findall(text)) > _GARBAGE_SHARE * n / 2:
        return "garbled text layer"
    kept = [ch for ch in _LEADERS.sub(" ", text) if not ch.isspace()]
    if len(kept) >= 20 and sum(ch.isalnum() for ch in kept) < _MIN_WORDLIKE_SHARE * len(kept):
        return "garbled text layer"
    return None


def is_short(text: str) -> bool:
    """Few enough characters that a page image may hold the real text."""
    return visible_chars(text) < SHORT_PAGE_CHARS


def looks_scanned(image_coverage: float) -> bool:
    """A short page whose images cover this share of its area is read as a scan.

    >>> looks_scanned(0.95), looks_scanned(0.6)
    (True, False)
    """
    return image_coverage >= SCAN_IMAGE_COVERAGE
