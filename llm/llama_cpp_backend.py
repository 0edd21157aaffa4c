"""The real generator: a local GGUF model through llama-cpp-python.

One `Llama` per model file, loaded once and shared by every chat session (the
UI serves several browsers): `load_llama_generator` caches it, and a queue
(`llm.generation_line`) lets one generation at a time use it, in the order asked,
because a llama.cpp context is not thread-safe. Each generation
(`llm.llama_generation.Generation`) reports its progress and can be cancelled,
even while llama.cpp reads the prompt. Counting tokens needs only the
vocabulary and runs outside the queue.

The prompt is rendered with the model's chat template and tokenized here, and
the very same token ids are handed to llama.cpp, so `count_prompt_tokens` is
exact and a budget computed with it cannot overflow the context.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ContextTooSmallError
from llm.chat_template import ChatTemplate, choose_template
from llm.generation_line import GenerationLine
from llm.llama_generation import Generation, set_abort_flag
from llm.llama_log import captured_llama_log, load_failure, parse_offload
from llm.model_file import check_gguf_file
from llm.types import GenerationParams, GenerationStats, Message, ModelInfo

_SHARED_LOCK = threading.Lock()
_SHARED: dict[tuple, LlamaCppGenerator] = {}


@dataclass(frozen=True)
class LlamaOptions:
    """How llama.cpp loads a model (the edges fill it from `Settings.llm`)."""

    n_ctx: int = 4096  # context window, prompt + answer
    n_gpu_layers: int = 0  # 0 = CPU only, -1 = all
    n_threads: int = 0  # 0 = automatic
    n_batch: int = 512  # prompt tokens evaluated per batch
    verbose: bool = False  # llama.cpp's own log on stderr


def load_llama_generator(path: Path, options: LlamaOptions | None = None) -> LlamaCppGenerator:
    """The shared generator for `path` and these options; loads it on first use.

    Only one model stays cached: switching models frees the previous one.
    """
    path = Path(path)
    o = options or LlamaOptions()
    check_gguf_file(path)
    key = (
        str(path.resolve()),
        path.stat().st_mtime_ns,
        o.n_ctx,
        o.n_gpu_layers,
        o.n_threads,
        o.n_batch,
    )
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED.clear()
            _SHARED[key] = LlamaCppGenerator(
                path,
                n_ctx=o.n_ctx,
                n_gpu_layers=o.n_gpu_layers,
                n_threads=o.n_threads,
                n_batch=o.n_batch,
                verbose=o.verbose,
            )
        return _SHARED[key]


class LlamaCppGenerator:
    """A loaded GGUF model. See `llm.protocols.Generator` for the contract."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int = 0,
        n_threads: int = 0,
        n_batch: int = 512,
        verbose: bool = False,
    ) -> None:
        path = Path(path)
        check_gguf_file(path)
        import llama_cpp

        with captured_llama_log(echo=verbose) as log:
            try:
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_gpu_layers=n_gpu_layers,
                    n_threads=n_threads or None,
                    n_threads_batch=n_threads or None,
                    n_batch=n_batch,
                    verbose=verbose,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise load_failure(path, log) from exc
        self._llama = llama
        self._queue = GenerationLine()  # one generation at a time, first come first served
        self.last_stats: GenerationStats | None = None
        self.read_rate: float | None = None  # prompt tokens read per second, last measured

        vocab = llama._model.vocab
        self._bos = llama.token_bos()
        self._add_bos = bool(llama._model.add_bos_token()) and self._bos >= 0
        self._template = choose_template(
            llama.metadata.get("tokenizer.chat_template"),
            bos_token=_token_text(llama, self._bos),
            eos_token=_token_text(llama, llama.token_eos()),
            is_special=self._is_special_token,
        )
        self._control_text = _control_token_pattern(llama, vocab)
        # llama-cpp-python sizes its token buffer by the requested n_ctx while llama.cpp
        # may allocate more (it rounds up): the smaller one is the real limit.
        self._n_ctx = min(n_ctx, llama.n_ctx(), llama_cpp.llama_n_ctx_seq(llama.ctx))
        offload = parse_offload(
            log,
            requested=n_gpu_layers,
            n_layer=llama_cpp.llama_model_n_layer(llama.model),
            gpu_supported=bool(llama_cpp.llama_supports_gpu_offload()),
        )
        n_ctx_train = llama._model.n_ctx_train()
        warnings = [offload.warning] if offload.warning else []
        if self._template.source.startswith("fallback"):
            warnings.append(f"chat template: {self._template.source}")
        if n_ctx_train and self._n_ctx > n_ctx_train:
            warnings.append(
                f"RAG_LLM_N_CTX={self._n_ctx} exceeds the {n_ctx_train} tokens the model was "
                "trained on; answers to long prompts may degrade"
            )
        self._info = ModelInfo(
            path=path,
            n_ctx=self._n_ctx,
            n_ctx_train=n_ctx_train,
            offload=offload,
            chat_template=self._template.source,
            n_threads=llama.n_threads,
            warnings=tuple(warnings),
        )
        self._prompt_tokens = functools.lru_cache(maxsize=8)(self._tokenize_prompt)

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def template(self) -> ChatTemplate:
        return self._template

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text, with control-token look-alikes in the contents defused."""
        safe = [Message(m.role, self.defuse(m.content)) for m in messages]
        return self._template.render(safe)

    def defuse(self, text: str) -> str:
        """Break up any text equal to one of the model's control tokens.

        The prompt is tokenized with special tokens enabled (the template needs
        them), so a PDF containing "<|im_end|>" would otherwise end the turn.
        A zero-width space keeps it readable but makes it ordinary text.
        """
        if self._control_text is None:
            return text
        return self._control_text.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Token ids exactly as `stream` feeds them to llama.cpp."""
        return list(self._prompt_tokens(self.render(messages)))

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_tokens(self.render(messages)))

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Generation:
        """Text pieces as llama.cpp produces them, one generation at a time in the order
        asked; see `Generation` for its progress and for cancelling it."""
        tokens = self.prompt_tokens(messages)
        if len(tokens) + params.max_tokens > self._n_ctx:
            raise ContextTooSmallError(
                f"prompt of {len(tokens)} tokens + {params.max_tokens} answer tokens "
                f"exceeds the context of {self._n_ctx}",
                hint="budget the prompt with llm.budget.fit_prompt before generating",
            )
        return Generation(self, tokens, params)

    def completion(self, tokens: list[int], params: GenerationParams, stop: Any) -> Any:
        """llama-cpp-python's streamed completion (call it on your turn of the model)."""
        return self._llama.create_completion(
            tokens,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            repeat_penalty=params.repeat_penalty,
            seed=params.seed,
            stop=list(self._template.stop + params.stop) or None,
            stream=True,
            stopping_criteria=llama_cpp_stopping([stop]),
        )

    def cached_prefix(self, tokens: list[int]) -> int:
        """Prompt tokens the model has read already (its KV cache), on your turn."""
        cached = _common_prefix(self._llama._input_ids.tolist(), tokens)
        # llama-cpp-python re-evaluates the last token when the whole prompt is cached.
        return max(min(cached, len(tokens) - 1), 0)

    def abort_when(self, flag: Any) -> None:
        """Make llama.cpp abort its computation when `flag` (see `abort_flag`) is set."""
        set_abort_flag(self._llama, flag)

    def after_abort(self) -> None:
        """The logits of an aborted decode are not the prompt's: read its last token again."""
        if hasattr(self._llama, "_requires_eval"):
            self._llama._requires_eval = True

    def measured(self, stats: GenerationStats) -> None:
        self.last_stats = stats
        read = stats.prompt_tokens - stats.cached_tokens
        if read >= 16 and stats.completion_tokens > 0 and stats.first_token_s > 0:
            self.read_rate = read / stats.first_token_s

    @property
    def queue(self) -> GenerationLine:
        """Who uses the model now and who waits (one generation at a time)."""
        return self._queue

    def reset_cache(self) -> None:
        """Forget the evaluated prompt (KV cache) and memoized tokenizations: a cold start."""
        with self._queue.turn():
            self._llama.reset()
            self._prompt_tokens.cache_clear()

    def close(self) -> None:
        with self._queue.turn():
            self._llama.close()

    @property
    def llama(self) -> Any:
        """The underlying `llama_cpp.Llama` (for the benchmark's direct calls)."""
        return self._llama

    def _tokenize_prompt(self, text: str) -> tuple[int, ...]:
        tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if self._add_bos and (not tokens or tokens[0] != self._bos):
            tokens.insert(0, self._bos)
        return tuple(tokens)

    def _is_special_token(self, text: str) -> bool:
        raw = text.encode("utf-8")
        as_special = self._llama.tokenize(raw, add_bos=False, special=True)
        return len(as_special) == 1 and len(self._llama.tokenize(raw, False, False)) > 1


def llama_cpp_stopping(criteria: list) -> Any:
    from llama_cpp import StoppingCriteriaList

    return StoppingCriteriaList(criteria)


def _token_text(llama: Any, token: int) -> str:
    return llama._model.token_get_text(token) if token >= 0 else ""


def _control_token_pattern(llama: Any, vocab: Any) -> re.Pattern[str] | None:
    """A regex matching the text of every control token (e.g. <|im_end|>, <|eot_id|>)."""
    import llama_cpp

    texts = set()
    for token in range(llama.n_vocab()):
        if llama_cpp.llama_vocab_is_control(vocab, token) or llama_cpp.llama_vocab_is_eog(
            vocab, token
        ):
            text = _token_text(llama, token)
            if len(text) >= 2 and not text.isalnum():
                texts.add(text)
    if not texts:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)))


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
