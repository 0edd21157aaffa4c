"""Turning a follow-up ("and for how long?") into a standalone search query.

The retriever sees one query, not the conversation, so a follow-up must carry
its subject. With a model loaded, the model rewrites it; the rewrite prompt
starts with the same system prompt and history as the answer prompt, so
llama.cpp's KV cache for that prefix serves both calls. Without a model, or
when the model's rewrite looks wrong, the key terms of the previous question
are prepended instead.

>>> history = [Turn("What does the Acme warranty cover?", "Defects in materials [1].")]
>>> heuristic_query("And for how long?", history)
'Acme warranty cover And for how long?'
>>> standalone_query("Who signed the Acme contract?", history)
'Who signed the Acme contract?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.text import content_words
from llm.budget import fit_prompt
from llm.prompt import NOT_FOUND_ANSWER, SYSTEM, history_messages
from llm.protocols import Generator
from llm.types import GenerationParams, Message, Turn

MAX_QUERY_CHARS = 300
REWRITE_TOKENS = 32
_FOLLOW_UP_START = re.compile(
    r"^\s*(?:and|but|also|so|then|or|what about|how about|what if|why not|same for)\b", re.I
)
_BACK_REFERENCE_TEXT = "it its they them their theirs this that these those he she him her his \
there such same former latter one ones"
_BACK_REFERENCES = frozenset(_BACK_REFERENCE_TEXT.split())
_WORD = re.compile(r"[^\W_]+")
# Words that ask for more about the last topic without naming a new one ("How long?").
_GENERIC_TEXT = "long much many often else more why exactly example examples mean means \
detail details really sure ok okay thanks please explain elaborate continue other another"
_GENERIC = frozenset(_GENERIC_TEXT.split())
REWRITE_INSTRUCTION = (
    "Do not answer yet. Rewrite my next question as one standalone search query that names "
    "everything it refers to from our conversation. Reply with the query only, on one line.\n\n"
    "Next question: {question}"
)


def looks_like_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """A question that leans on the conversation: "and ...?", "it", or almost no content.

    >>> looks_like_follow_up("What about the penalties?", [Turn("q", "a")])
    True
    >>> looks_like_follow_up("What does the warranty cover?", [Turn("q", "a")])
    False
    >>> looks_like_follow_up("What is RLHF?", [Turn("How is LoRA used?", "a")])
    False
    >>> looks_like_follow_up("How long?", [Turn("q", "a")])
    True
    """
    if not history:
        return False
    words = [w.lower() for w in _WORD.findall(question)]
    return (
        bool(_FOLLOW_UP_START.match(question))
        or any(w in _BACK_REFERENCES for w in words)
        or not any(w not in _GENERIC for w in content_words(question))
    )


# "What about the time zone?", "And the man pages?": a new object for the same request.
_NEW_OBJECT = re.compile(
    r"^\s*(?:and|but|also|so|then|or)?\s*(?:what|how)\s+about\s+(?P<object>.+?)\s*\??\s*$"
    r"|^\s*(?:and|but|also|so|then|or)\s+(?P<bare>(?:the|a|an|my|your)\s+[^?]+?)\s*\??\s*$",
    re.IGNORECASE,
)
# A question's object: after its last determiner, up to a trailing scope ("in Ghostscript").
_OBJECT = re.compile(
    r"^(?P<head>.*\b(?:the|a|an|my|your|its|their|this|that))\s+(?P<object>.+?)"
    r"(?P<tail>\s+(?:in|on|for|with|from|under|inside|within)\s+[^?]+?)?\s*\??\s*$",
    re.IGNORECASE,
)


def substituted_query(question: str, history: Sequence[Turn]) -> str | None:
    """The previous question with its object replaced by the one a follow-up names.

    "What about the time zone?" after "How do I reconfigure the system locale?" asks
    to reconfigure the time zone; prepending the locale's words would search for the
    locale again.

    >>> substituted_query("What about the time zone?",
    ...                   [Turn("How do I reconfigure the system locale?", "")])
    'How do I reconfigure the time zone?'
    >>> substituted_query("And how do I undo that?", [Turn("How do I hold a package?", "")])
    """
    match = _NEW_OBJECT.match(question)
    if not history or not match:
        return None
    new = (match.group("object") or match.group("bare")).strip()
    new = re.sub(r"^(?:the|a|an|my|your)\s+", "", new, flags=re.IGNORECASE)
    if not content_words(new) or any(w in _BACK_REFERENCES for w in _WORD.findall(new.lower())):
        return None
    before = _OBJECT.match(history[-1].question.strip())
    if not before or not content_words(before.group("head")):
        return None
    return f"{before.group('head')} {new}{before.group('tail') or ''}?"


def heuristic_query(question: str, history: Sequence[Turn]) -> str:
    """The previous question's key words that the follow-up lacks, then the follow-up.

    The words go in as the user wrote them, not as stems: keyword search matches
    whole words, and "devic" finds no "device". A follow-up that only names a new
    object ("What about the time zone?") takes the previous question's request
    instead (`substituted_query`).

    >>> heuristic_query("And the devices?", [Turn("Which ICC profiles suit output devices?", "")])
    'ICC profiles suit output And the devices?'
    """
    if not history:
        return question
    substituted = substituted_query(question, history)
    if substituted:
        return substituted
    have = set(content_words(question))
    terms: list[str] = []
    for word in _WORD.findall(history[-1].question):
        key = content_words(word)
        if key and key[0] not in have:
            have.add(key[0])
            terms.append(word)
    return f"{' '.join(terms)} {question}".strip() if terms else question


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[Message]:
    """System prompt and history exactly as in the answer prompt, then the instruction."""
    return [
        Message("system", SYSTEM),
        *history_messages(history),
        Message("user", REWRITE_INSTRUCTION.format(question=question.strip())),
    ]


def model_query(question: str, history: Sequence[Turn], generator: Generator) -> str | None:
    """The model's standalone rewrite, or None when it is not usable as a query."""
    plan = fit_prompt(
        question,
        [],
        history,
        count_prompt_tokens=generator.count_prompt_tokens,
        n_ctx=generator.n_ctx,
        max_tokens=REWRITE_TOKENS,
        build=lambda q, _passages, turns: rewrite_messages(q, turns),
    )
    params = GenerationParams(max_tokens=plan.max_tokens, temperature=0.0, top_k=1, stop=("\n",))
    text = "".join(generator.stream(plan.messages, params))
    return clean_query(text, question, history)


def clean_query(text: str, question: str, history: Sequence[Turn]) -> str | None:
    """The first line without quotes or a "Query:" label, if it is about the conversation.

    A rewrite must reuse some word of the question or of the recent turns:
    otherwise the model wandered off (or it is a random-weight test model).

    >>> history = [Turn("Acme warranty?", "")]
    >>> clean_query('Query: "Acme warranty duration"', "and how long?", history)
    'Acme warranty duration'
    >>> clean_query("Bananas are yellow.", "and how long?", history) is None
    True
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    query = re.sub(r"^\s*(?:standalone\s+)?(?:search\s+)?query\s*:\s*", "", lines[0], flags=re.I)
    query = query.strip().strip("\"'`\u201c\u201d").strip()
    if not query or len(query) > MAX_QUERY_CHARS or NOT_FOUND_ANSWER.lower() in query.lower():
        return None
    said = set(content_words(query))
    if not keeps_the_question(question, said) or not carries_the_subject(question, said, history):
        return None
    known = set(content_words(question))
    for turn in history[-2:]:
        known.update(content_words(turn.question))
        known.update(content_words(turn.answer))
    return query if known & said else None


def keeps_the_question(question: str, said: set[str]) -> bool:
    """A rewrite keeps at least half of what the follow-up itself asks about.

    Small models rewrite "And which option sets the folder it searches for those
    profiles?" as the previous answer's command line: the folder is lost.

    >>> keeps_the_question("And which option sets the folder?", set(content_words("gs -sOut")))
    False
    >>> keeps_the_question("And for how long?", set(content_words("Acme warranty length")))
    True
    """
    own = [w for w in dict.fromkeys(content_words(question)) if w not in _GENERIC]
    return 2 * sum(w in said for w in own) >= len(own)


def carries_the_subject(question: str, said: set[str], history: Sequence[Turn]) -> bool:
    """A rewrite carries over something of the previous question that the follow-up lacks.

    Small models rewrite "What about the time zone?" as "time zone": the request
    (reconfiguring) is lost, and the search finds any page about time zones.

    >>> history = [Turn("How do I reconfigure the system locale?", "")]
    >>> carries_the_subject("What about the time zone?", {"time", "zone"}, history)
    False
    >>> carries_the_subject("What about the time zone?", {"reconfigur", "time", "zone"}, history)
    True
    """
    if not history:
        return True
    own = set(content_words(question))
    before = set(content_words(history[-1].question)) - own - _GENERIC
    return not before or bool(before & said)


def standalone_query(
    question: str, history: Sequence[Turn], generator: Generator | None = None
) -> str:
    """What to search for: the question itself unless it is a follow-up."""
    if not looks_like_follow_up(question, history):
        return question
    if generator is not None:
        rewritten = model_query(question, history, generator)
        if rewritten:
            return rewritten
    return heuristic_query(question, history)
