"""A GGUF file's tokenizer and chat template, without its weights: exact counts for a served model.

`llama_cpp.Llama(vocab_only=True)` reads the vocabulary and the metadata (about a
second for a 1 GB file, a few MB of memory). The prompt is rendered with the
file's chat template (or the same fallback the local backend would choose) and
tokenized with special tokens parsed, a BOS added when the vocabulary asks for one:
what llama.cpp's servers feed the model for a chat completion.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

from llm.chat_template import choose_template
from llm.llama_cpp_backend import _control_token_pattern, _token_text
from llm.llama_log import captured_llama_log, load_failure
from llm.model_file import check_gguf_file
from llm.types import Message


class GgufTokenizer:
    """Counts like the served model, from its GGUF file (vocabulary only)."""

    mode = "gguf"

    def __init__(self, path: Path) -> None:
        path = Path(path)
        check_gguf_file(path)
        import llama_cpp

        with captured_llama_log() as log:
            try:
                llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise load_failure(path, log) from exc
        self.path = path
        self._llama = llama
        self._bos = llama.token_bos()
        self._add_bos = bool(llama._model.add_bos_token()) and self._bos >= 0
        self.template = choose_template(
            llama.metadata.get("tokenizer.chat_template"),
            bos_token=_token_text(llama, self._bos),
            eos_token=_token_text(llama, llama.token_eos()),
            is_special=self._is_special_token,
        )
        self._control: re.Pattern[str] | None = _control_token_pattern(llama, llama._model.vocab)
        arch = llama.metadata.get("general.architecture", "")
        self.n_ctx_train = int(llama.metadata.get(f"{arch}.context_length", 0) or 0)
        self.description = f"{path.name}'s tokenizer and chat template, read locally (exact)"
        self._count_rendered = functools.lru_cache(maxsize=32)(self._count_uncached)

    @property
    def fold_system(self) -> bool:
        """The template takes no system message: it goes into the first user message."""
        return self.template.fold_system

    def defuse(self, text: str) -> str:
        """Text equal to a control token of this vocabulary broken by a zero-width space."""
        if self._control is None:
            return text
        return self._control.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)

    def count_text(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_messages(self, messages: Sequence[Message]) -> int:
        return self._count_rendered(self.template.render(messages))

    def _count_uncached(self, prompt: str) -> int:
        tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return len(tokens) + (self._add_bos and (not tokens or tokens[0] != self._bos))

    def _is_special_token(self, text: str) -> bool:
        raw = text.encode("utf-8")
        as_special = self._llama.tokenize(raw, add_bos=False, special=True)
        return len(as_special) == 1 and len(self._llama.tokenize(raw, False, False)) > 1

    def clear(self) -> None:
        self._count_rendered.cache_clear()

    def close(self) -> None:
        self._llama.close()
