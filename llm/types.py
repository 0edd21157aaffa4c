"""Data that flows through the answering pipeline: messages, parameters, turns, citations.

question -> (rewrite) -> Passage list -> prompt Messages -> generated text -> Citations
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.types import Passage

Role = Literal["system", "user", "assistant"]
Mode = Literal["generative", "extractive"]


@dataclass(frozen=True)
class Message:
    """One chat message, as handed to a chat template.

    >>> Message("user", "Hi").to_dict()
    {'role': 'user', 'content': 'Hi'}
    """

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one generation; `max_tokens` is the answer budget."""

    max_tokens: int = 200  # the settings' defaults (RAG_LLM_MAX_TOKENS, RAG_LLM_TEMPERATURE)
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation, as remembered for follow-ups."""

    question: str
    answer: str


@dataclass(frozen=True)
class Citation:
    """The passage an answer cites as [n]: its number in the prompt, and the passage itself.

    >>> Citation(2, Passage("contracts/acme.pdf", 4, 5, 0.7, "...")).label
    '[2] contracts/acme.pdf pp. 4-5'
    """

    n: int
    passage: Passage

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def page_start(self) -> int:
        return self.passage.page_start

    @property
    def page_end(self) -> int:
        return self.passage.page_end

    @property
    def label(self) -> str:
        return f"[{self.n}] {self.source} {self.passage.pages}"

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "source": self.source,
            "page_start": self.page_start,
            "page_end": self.page_end,
        }


@dataclass(frozen=True)
class OffloadReport:
    """Where llama.cpp put the model's layers, as it reported them while loading.

    `layers_total` counts the repeating layers plus the output layer, like llama.cpp.
    """

    requested: int  # n_gpu_layers asked for: 0 = none, -1 = all
    offloaded: int
    layers_total: int
    gpu_supported: bool  # llama_supports_gpu_offload() of this llama-cpp-python build
    source: str  # how `offloaded` was found, e.g. "llama.cpp log"

    @property
    def warning(self) -> str:
        """Non-empty when a GPU was asked for and did not get every layer."""
        if self.requested == 0 or self.offloaded >= self.layers_total:
            return ""
        wanted = self.layers_total if self.requested < 0 else min(self.requested, self.layers_total)
        if self.offloaded >= wanted:
            return ""
        why = (
            "this llama-cpp-python build has no GPU support; reinstall it with "
            'CMAKE_ARGS="-DGGML_CUDA=on" (see `make install-cuda`)'
            if not self.gpu_supported
            else "llama.cpp found no usable GPU or not enough GPU memory"
        )
        return (
            f"GPU requested (n_gpu_layers={self.requested}) but {self.offloaded} of "
            f"{self.layers_total} layers were offloaded: {why}"
        )


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded, read back from llama.cpp (not just what was asked for)."""

    path: Path
    n_ctx: int  # usable context: min(requested, what llama.cpp allocated)
    n_ctx_train: int
    offload: OffloadReport
    chat_template: str  # where the template came from, e.g. "GGUF metadata"
    n_threads: int = 0
    warnings: tuple[str, ...] = field(default=())
    served_by: str = ""  # a model server's API URL; "" for a model loaded in this process
    token_counting: str = ""  # how a served model's prompt tokens are counted

    @property
    def name(self) -> str:
        """The model's name: its file's without .gguf, or the name the server knows it by.

        >>> off = OffloadReport(0, 0, 0, False, "model server")
        >>> ModelInfo(Path("qwen2.5-coder-0.5b"), 4096, 0, off, "the server", served_by="u").name
        'qwen2.5-coder-0.5b'
        """
        return str(self.path) if self.served_by else self.path.name.removesuffix(".gguf")

    @property
    def summary(self) -> str:
        """One line for the terminal and the UI.

        >>> off = OffloadReport(0, 0, 23, False, "llama.cpp log")
        >>> print(ModelInfo(Path("m.gguf"), 4096, 8192, off, "GGUF metadata").summary)
        m.gguf: context 4096 tokens, 0/23 layers on GPU (CPU only), chat template from GGUF metadata
        """
        if self.served_by:
            return (
                f"{self.path} served by {self.served_by}: context {self.n_ctx} tokens, "
                f"prompt tokens counted by {self.token_counting}"
            )
        off = self.offload
        where = "CPU only" if off.offloaded == 0 else "GPU"
        return (
            f"{self.path.name}: context {self.n_ctx} tokens, "
            f"{off.offloaded}/{off.layers_total} layers on GPU ({where}), "
            f"chat template from {self.chat_template}"
        )


@dataclass(frozen=True)
class GenerationStats:
    """Measured figures of the last generation (for the benchmark and the UI)."""

    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV cache was reused from the previous call
    completion_tokens: int
    first_token_s: float
    total_s: float
