"""Token helpers shared by the embedder and the chunker: what a token counter must do
(`TokenCounter`), and where a piece of at most N tokens should end.

`embed.embedder` calls it with the embedding tokenizer's offsets; the chunker
uses it (through `TokenCounter.split_to_tokens`) for units and chunks that are
too long. Cuts prefer whitespace, then word boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence

from embed.protocols import TokenCounter

__all__ = ["TokenCounter", "split_at_token_boundaries"]


def split_at_token_boundaries(
    text: str,
    spans: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    max_tokens: int,
) -> list[str]:
    """Cut `text` into stripped pieces of at most `max_tokens` of the given tokens.

    `spans` are the (start, end) character offsets of each token in `text`;
    `word_ids` the pre-tokenizer word of each token. Cuts prefer whitespace,
    then word boundaries (e.g. before punctuation), and only as a last resort
    fall between two pieces of one word. Only whitespace at the cuts is lost.

    >>> spans = [(0, 2), (3, 5), (5, 6), (6, 8)]  # "ab", "cd", ",", "ef"
    >>> split_at_token_boundaries("ab cd,ef", spans, [0, 1, 2, 3], max_tokens=3)
    ['ab', 'cd,ef']
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    pieces: list[str] = []
    piece_char = 0  # where the current piece starts in `text`
    first = 0  # its first token
    while len(spans) - first > max_tokens:
        cut = _best_cut(text, spans, word_ids, first, first + max_tokens, piece_char)
        if cut is None:
            break
        pieces.append(text[piece_char : spans[cut][0]])
        piece_char, first = spans[cut][0], cut
    pieces.append(text[piece_char:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _best_cut(
    text: str,
    spans: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    first: int,
    limit: int,
    piece_char: int,
) -> int | None:
    """Index of the token that starts the next piece, in (first, limit] if at all possible."""
    at_space = at_word = at_token = None
    for k in range(limit, first, -1):
        start, prev_end = spans[k][0], spans[k - 1][1]
        # Tokens sharing characters (byte-level pieces of one character) cannot be cut apart.
        if start < prev_end or start <= piece_char:
            continue
        at_token = at_token or k
        if at_word is None and word_ids[k] != word_ids[k - 1]:
            at_word = k
        if at_space is None and any(ch.isspace() for ch in text[prev_end:start]):
            at_space = k
            break
    # A cut in the first half would make a tiny piece; a word boundary later on is better.
    half = first + max(1, (limit - first) // 2)
    for candidate in (at_space, at_word):
        if candidate is not None and candidate >= half:
            return candidate
    for candidate in (at_space, at_word, at_token):
        if candidate is not None:
            return candidate
    # No character boundary in the window at all: the piece must grow past the budget.
    later = range(limit + 1, len(spans))
    return next((k for k in later if spans[k][0] >= max(spans[k - 1][1], piece_char + 1)), None)
