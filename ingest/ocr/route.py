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

# Fewer visible characters than this and the page is "short": its images are looked at.
SHORT_PAGE_CHARS = 200
# Share of the page's area that images must cover for a short page to count as a scan:
# a scan covers the whole page; a born-digital figure leaves at least the margins.
SCAN_IMAGE_COVERAGE = 0.8
_GARBAGE_SHARE = 0.1
_MIN_WORDLIKE_SHARE = 0.3
_SAMPLE_CHARS = 600
# Leaders and rules ("Install . . . . 12", "Name: ____"): an index page is mostly dots.
_LEADERS = re.compile(r"(?:\.\s?){3,}|_{3,}|-{3,}|…")
# UTF-8 read as Latin-1/cp1252: "Ã©", "Ã¨", "Â " ...
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d]")
# Glyphs with no meaning to a reader: private use, U+FFFD, control characters.
_JUNK = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff\ufffd\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SYMBOL = re.compile(r"[^\w\s]|_")  # neither letter, digit nor space
# Regular expressions and str methods, not loops over characters: every born-digital
# page passes here, and must not be slowed down.


def visible_chars(text: str) -> int:
    return len("".join(text.split()))


def text_layer_problem(text: str) -> str | None:
    """Why the text layer cannot be used as it is, or None when it looks like text."""
    n = visible_chars(text)
    if not n:
        return "no text layer"
    if _JUNK.subn("", text)[1] > _GARBAGE_SHARE * n:
        return "garbled text layer"
    if ("Ã" in text or "Â" in text) and len(_MOJIBAKE.findall(text)) > _GARBAGE_SHARE * n / 2:
        return "garbled text layer"
    # A garbled layer is garbled throughout: its first characters tell.
    sample = text[:_SAMPLE_CHARS]
    if n >= 20 and _SYMBOL.subn("", sample)[1] > (1 - _MIN_WORDLIKE_SHARE) * visible_chars(sample):
        # Mostly symbols: garbage, unless they are leaders (an index page).
        rest = _LEADERS.sub(" ", text)
        kept = visible_chars(rest)
        if kept >= 20 and _SYMBOL.subn("", rest)[1] > (1 - _MIN_WORDLIKE_SHARE) * kept:
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
