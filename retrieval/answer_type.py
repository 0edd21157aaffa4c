r"""What kind of answer a question asks for, and whether a chunk holds one: dates.

A question that asks *when* wants a date, and the chunk that answers it holds
one ("Written on February 10, 2025"). Its other words often name the document
("the primer 'Peeling the magic behind the buzz'"), which the title page
matches better on every other signal. So the re-ranker (`retrieval.rerank`)
adds a bonus to the chunks that hold a full date, for date questions only.

>>> asks_for_date("On what date was the primer written?"), asks_for_date("When was it dated?")
(True, True)
>>> asks_for_date("What does gp do when its preferences file cannot be read?")
False
>>> holds_date("Written on February 10, 2025"), holds_date("17-19 July 1989, Portland")
(True, True)
>>> holds_date("$Id: reference.xml 9625 2012-10-20 23:12:33Z"), holds_date("in 2014, GANs")
(True, False)
"""

from __future__ import annotations

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:1[89]|20)\d\d"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# "February 10, 2025", "10 February 2025", "17–19 July 1989", "2012-10-20".
_FULL_DATE = re.compile(
    rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b"
    rf"|\b{_DAY}(?:\s*[-\u2013]\s*{_DAY})?\s+{_MONTH}\s+{_YEAR}\b"
    rf"|\b{_YEAR}-[01]\d-[0-3]\d\b",
    re.IGNORECASE,
)
# "When ...?" at the start (not "what does gp do when ..."), "what date", "which year", "dated".
_ASKS_DATE = re.compile(
    r"^\W*(?:since\s+)?when\b|\b(?:what|which)\s+(?:date|day|year|month)\b|\bdated\b",
    re.IGNORECASE,
)


def asks_for_date(question: str) -> bool:
    """True for a question whose answer is a date."""
    return bool(_ASKS_DATE.search(question))


def holds_date(text: str) -> bool:
    """True when the text holds a full date (a bare year is not one: most pages have some)."""
    return bool(_FULL_DATE.search(text))
