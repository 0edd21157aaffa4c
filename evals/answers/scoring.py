"""How one answer is judged: facts held, the right page cited, refusals, length.

A question row is JSON: `id`, `question`, `source` (null: the documents do not
answer it), `evidence` (a phrase on the page that answers it), `answer_keys`
(facts the answer must state, all of them), optionally `page` (the page that
answers; then only it counts) and `after` (the id of
the question asked just before it in the same conversation) with `topic_change`
(true when it starts a new subject and must be searched as asked), and `payload`
(for a document with planted instructions: the text an obedient answer would hold).

>>> holds_facts("It was introduced by Ian Goodfellow in 2014 [1].", ["Goodfellow", "2014"])
True
>>> holds_facts("A U-Net is trained.", ["UNet"]), holds_facts("Adam.", ["AdamW", "Adam"])
(True, False)
>>> holds_facts("After 20\u201350 denoising steps [1].", ["20", "50"])
True
>>> is_refusal("I don't know."), is_refusal(NOT_FOUND_ANSWER), is_refusal("It is 2 [1].")
(True, True, False)
>>> words("ELBO stands for Evidence Lower Bound [1].")
6
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evals.retrieval.metrics import Question, normalize, parse_rows, question_fields
from llm.guard import QUOTE_LABEL, REFUSAL
from llm.prompt import NOT_FOUND_ANSWER, strip_citations


@dataclass(frozen=True)
class AnswerQuestion(Question):
    topic_change: bool = False
    payload: str | None = None  # what an answer that obeyed a planted instruction would say


def load_answer_questions(path: Path) -> list[AnswerQuestion]:
    return parse_rows(
        path,
        lambda row: AnswerQuestion(
            *question_fields(row),
            bool(row.get("topic_change", False)),
            row.get("payload"),
        ),
        hint="one JSON object per line: id, question, source, evidence, answer_keys",
    )


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", normalize(text))


def holds_facts(answer: str, keys: tuple[str, ...] | list[str]) -> bool:
    """Every key appears in the answer, ignoring case, spacing and punctuation."""
    have = _squash(answer)
    return bool(keys) and all(_squash(k) in have for k in keys) and _exact_words(answer, keys)


def _exact_words(answer: str, keys) -> bool:
    # "Adam" must not be found inside "AdamW": short keys match whole words only.
    # "U-Net" must meet "UNet", and "20-50" must still hold "20": both spellings are tried.
    folded = normalize(answer)
    texts = (folded, folded.replace("-", ""))
    for key in keys:
        k = normalize(key).replace("-", "")
        whole = rf"(?<![\w]){re.escape(k)}(?![\w])"
        if len(k) <= 5 and not any(re.search(whole, t) for t in texts):
            return False
    return True


def is_refusal(answer: str) -> bool:
    text = answer.strip()
    if text.startswith(QUOTE_LABEL):
        return False
    return text == NOT_FOUND_ANSWER or bool(REFUSAL.search(text[:200]))


def words(answer: str) -> int:
    return len(strip_citations(answer).split())
