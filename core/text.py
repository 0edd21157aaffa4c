"""Text that is safe to show: file names that are not valid UTF-8, or hold control characters.

A file name is bytes on POSIX; Python hands undecodable bytes over as lone
surrogates ("surrogateescape"), which cannot be encoded, stored in SQLite or
printed. And a name may hold terminal escape sequences. `printable` gives the
name users see, with each such character written as a visible escape:

>>> printable("caf\\udce9.pdf")
'caf\\\\xe9.pdf'
>>> printable("red\\x1b[31m.pdf")
'red\\\\x1b[31m.pdf'
>>> printable("Übersicht – 報告.pdf")
'Übersicht – 報告.pdf'
"""

from __future__ import annotations

import re
import unicodedata

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates written as `\\xNN` / `\\uNNNN`."""
    return "".join(_escape(c) if _unsafe(c) else c for c in text)


def _unsafe(char: str) -> bool:
    # Cc: C0/C1 controls and DEL (escape sequences start there); Cs: lone surrogates.
    return unicodedata.category(char) in ("Cc", "Cs")


def has_lone_surrogates(text: str) -> bool:
    return bool(_LONE_SURROGATE.search(text))


def escape_surrogates_for_json(text: str) -> str:
    """JSON written with ensure_ascii=False, with lone surrogates as `\\udcXX` escapes.

    Those are valid JSON and `json.loads` gives the same string back, so a path
    with undecodable bytes round-trips exactly while the file stays valid UTF-8.
    """
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# An absolute path: "/" not inside a word, a URL or another path, then non-space characters.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~])/(?:[^\s/'\"`,;()]+/)*([^\s/'\"`,;()]*)")


def redact_paths(text: str) -> str:
    """`text` with each absolute path cut to its last part, for pages other people may see.

    >>> redact_paths("/home/ann/data/index/manifest.json is damaged (see https://x.org/a)")
    '…/manifest.json is damaged (see https://x.org/a)'
    """
    return _ABSOLUTE_PATH.sub(lambda m: f"…/{m.group(1)}", text)
