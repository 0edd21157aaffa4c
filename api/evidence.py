"""An answer's evidence as JSON: its sources in [n] order, its checked sentences, its outcome.

These travel in fields OpenAI clients ignore (`sources`, `sentences`, `outcome`), so any
client reads the answer and clients that know them show the file and page of each claim.

>>> from core.types import Passage
>>> from llm.answer import Answer
>>> p = Passage("acme.pdf", 4, 4, 0.8123, "The warranty lasts two years.")
>>> answer = Answer(iter(['> "The warranty lasts two years." [1]']), mode="extractive",
...                 passages=[p])
>>> _ = answer.text
>>> sources(answer)
[{'n': 1, 'file': 'acme.pdf', 'page_start': 4, 'page_end': 4, 'text': 'The warranty lasts \
two years.', 'relevance': 0.8123, 'cited': True}]
>>> sentences(answer), outcome(answer)
([{'text': 'The warranty lasts two years.', 'citations': [1], 'supported': True}], 'quoted')
"""

from __future__ import annotations

import re

from llm.answer import Answer
from llm.prompt import NOT_FOUND_ANSWER

_QUOTE = re.compile(r'^> "(?P<text>.*)" \[(?P<n>\d+)\]$', re.MULTILINE)


def sources(answer: Answer) -> list[dict]:
    """Every passage the answer was given, numbered as its [n] markers, cited or not."""
    cited = {c.n for c in answer.citations}
    return [
        {
            "n": n,
            "file": p.source,
            "page_start": p.page_start,
            "page_end": p.page_end,
            "text": p.text,
            "relevance": round(float(p.score), 4),
            "cited": n in cited,
        }
        for n, p in enumerate(answer.passages, 1)
    ]


def sentences(answer: Answer) -> list[dict]:
    """Each sentence with the passages that support it (quotes cite their own passage)."""
    if answer.mode == "extractive":
        return [
            {"text": m["text"], "citations": [int(m["n"])], "supported": True}
            for m in _QUOTE.finditer(answer.text)
        ]
    return [
        {"text": s.text, "citations": list(s.cited), "supported": s.supported}
        for s in answer.sentences
    ]


def outcome(answer: Answer) -> str:
    """answered, quoted (passages quoted instead of a generated answer) or refused."""
    if not answer.passages or answer.text == NOT_FOUND_ANSWER:
        return "refused"
    if answer.mode == "extractive":
        return "quoted"
    return answer.outcome
