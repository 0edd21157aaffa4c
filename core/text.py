"""Text helpers used across the layers, each written once.

Words (`fold`, `STOPWORDS`, `singular`, `stem`, `content_words`, `search_terms`),
sentences (`sentence_spans`, `split_sentences`), the `[n]` citation pattern, and
text that is safe to show (`printable`, `redact_paths`).

>>> content_words("What do the Warranties cover?")
['warranty', 'cover']
>>> search_terms("What does ELBO stand for?")
['elbo']

Text that is safe to show: file names that are not valid UTF-8, or hold control characters.

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
    """`text` with control characters, bidi controls and lone surrogates written as
    `\\xNN` / `\\uNNNN`.

    >>> printable("\u202egnp.pdf")  # a right-to-left override would show it as "fdp.png"
    '\\\\u202egnp.pdf'
    """
    return "".join(_escape(c) if _unsafe(c) else c for c in text)


# Characters that reorder the text around them (Unicode's bidi embeddings, overrides,
# isolates and marks): a name holding one can show as another name.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"  # Arabic letter mark, left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)


def is_bidi_control(char: str) -> bool:
    return char in _BIDI_CONTROLS


def _unsafe(char: str) -> bool:
    # Cc: C0/C1 controls and DEL (escape sequences start there); Cs: lone surrogates.
    return unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS


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


# Words: runs of letters and digits, as the FTS5 `unicode61` tokenizer cuts them.
WORD = re.compile(r"[^\W_]+")

# Words that carry no topic. Dropping them keeps keyword search from ranking chunks by
# how often they say "the" or "what" (and spares their long posting lists), and keeps
# the answer checks from counting them as evidence. "stand(s)" and "called" are how
# questions ask for a name ("What does ELBO stand for?").
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing done down during
each either few for from further get gets got had has have having he her here hers
him his how i if in into is it its itself just may me might more most much many must
my no nor not now of off on once only or other our ours out over own same shall she
should so some such than that the their theirs them then there these they this those
through to too under until up upon us very via was we were what when where which while
who whom whose why will with would you your yours stand stands called
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# French and Spanish function words, folded. They count only in a question that does not
# read as English (`stopwords_for`): "le", "du", "des", "est" are English terms too (LA,
# du(1), DES, EST). The manuals sets ask in both languages (man-27 to man-30).
_OTHER_LANGUAGE_TEXT = """
le la les l un une des du de d au aux ce cet cette ces mon ma mes ton ta tes son sa ses
notre nos votre vos leur leurs je tu il elle on nous vous ils elles me te se lui y en qui
que qu quoi dont ou quel quelle quels quelles et mais donc ni car ne n pas plus est sont
etre ete a ai avons avez ont fait faire doit doivent peut peuvent faut dans par pour sur
avec sans sous entre vers chez comme si tout tous toute toutes aussi tres c s j m t
comment quand pourquoi combien
el los las unos unas del al o u con por para es su sus lo como cuando donde cual cuales
cuanto este esta estos estas ese esa esos esas mas muy sin sobre hay ser fue era puede
pueden debe deben tiene tienen hace
"""
OTHER_LANGUAGE_STOPWORDS = frozenset(_OTHER_LANGUAGE_TEXT.split()) - STOPWORDS


def reads_as_english(text: str) -> bool:
    """False when a text holds more French or Spanish function words than English ones.

    A light language guess, enough to pick stopwords and to know when the English
    embedding model is on foreign ground.

    >>> reads_as_english("Quel codage doit utiliser le fichier ?")
    False
    >>> reads_as_english("Which LA office handles the claim?"), reads_as_english("Einstellungen")
    (True, True)
    """
    words = WORD.findall(fold(text))
    other = sum(w in OTHER_LANGUAGE_STOPWORDS for w in words)
    english = sum(w in STOPWORDS for w in words)
    return other <= max(1, english)


def stopwords_for(text: str) -> frozenset[str]:
    """The stopwords of a question's language: English, or English, French and Spanish.

    >>> "la" in stopwords_for("Quel codage doit utiliser le fichier ?")
    True
    >>> "la" in stopwords_for("Which LA office handles the claim?")
    False
    """
    return STOPWORDS if reads_as_english(text) else STOPWORDS | OTHER_LANGUAGE_STOPWORDS


def fold(text: str) -> str:
    """Lower case without diacritics, as the keyword index folds them.

    >>> fold("Café ÉTÉ")
    'cafe ete'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_terms(question: str) -> list[str]:
    """Distinct folded words of a question, in order; stopwords go unless nothing else is left.

    >>> search_terms("GPT-4's NEAR(\\"x\\") AND caf\\u00e9")
    ['gpt', '4', 's', 'near', 'x', 'cafe']
    >>> search_terms("To be or not to be")
    ['to', 'be', 'or', 'not']
    >>> search_terms("Quel codage doit utiliser le fichier ?")
    ['codage', 'utiliser', 'fichier']
    """
    tokens = list(dict.fromkeys(WORD.findall(fold(question))))
    stopwords = stopwords_for(question)
    content = [t for t in tokens if t not in stopwords]
    return content or tokens


def singular(word: str) -> str:
    """The plain English plural stripped, without a stemmer's surprises.

    >>> [singular(w) for w in ("models", "warranties", "class", "gs")]
    ['model', 'warranty', 'class', 'gs']
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """A light stem: "covers", "covered" and "covering" meet, as do "introduce(d)".

    >>> [stem(w) for w in ("warranties", "covered", "installing", "introduce", "settings")]
    ['warranty', 'cover', 'install', 'introduc', 'sett']
    >>> [stem(w) for w in ("options", "introduced", "training", "loss", "gs")]
    ['option', 'introduc', 'train', 'loss', 'gs']
    """
    if len(word) > 4 and word.endswith("ies"):
        return singular(word)
    word = singular(word)
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Folded, stemmed words that carry meaning (no stopwords, no single letters)."""
    return [stem(w) for w in WORD.findall(fold(text)) if w not in stopwords and len(w) > 1]


# What the answers layer writes after a sentence no passage supports (llm.grounding); the
# page shows such a sentence marked (app.safe_markdown).
UNSUPPORTED_MARK = "[unsupported]"

# A citation of passages: [1], [1, 3], [2-4]; group 1 holds the numbers.
CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;\-\u2013]\s*\d+)*)\s*\]")

MAX_SENTENCE_CHARS = 400
# Where a list item starts: a line opening with a bullet or "1." / "1)".
LIST_ITEM = r"\n\s*(?:[-*\u2022]|\d+[.)])\s"
# The punctuation that ends a sentence: . ! or ?, but not after an initial ("Michael J.
# Vrhel", "Ph.D.") or "e.g." / "i.e.". Shared by document text and the answer stream.
SENTENCE_STOP = r"[.!?]+(?<!\b[A-Z]\.)(?<!e\.g\.)(?<!i\.e\.)"
# A sentence ends after . ! or ? (a closing quote or bracket may follow), but not after
# an initial ("Michael J. Vrhel"), "e.g." or "i.e."; at a blank line; or before a list
# item. A single line break is a PDF's wrapping, not an end.
_SENTENCE_END = re.compile(
    rf"{SENTENCE_STOP}[\"'\u201d\u2019)\]]?(?=\s|$)|(?=\n\s*\n)|(?={LIST_ITEM})"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, in order, without surrounding blanks.

    >>> t = "By Michael J. Vrhel, Ph.D. Artifex. He said 'go.' Then\\n- a list"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['By Michael J. Vrhel, Ph.D. Artifex.', "He said 'go.'", 'Then', '- a list']
    """
    spans, start = [], 0
    for end in [*(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]:
        piece = text[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        start = end
    return spans


def split_sentences(text: str) -> list[str]:
    """Sentences of at least three words, whitespace collapsed, long ones shortened.

    >>> split_sentences("By Michael J. Vrhel, Ph.D. Artifex. Use e.g. gs here. Then stop now.")
    ['By Michael J. Vrhel, Ph.D. Artifex.', 'Use e.g. gs here.', 'Then stop now.']
    """
    sentences = []
    for start, end in sentence_spans(text):
        sentence = " ".join(text[start:end].split())
        if len(sentence.split()) < 3:
            continue
        if len(sentence) > MAX_SENTENCE_CHARS:
            sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " ..."
        sentences.append(sentence)
    return sentences
