"""Build real GGUF llama models with random weights, for tests and the benchmark.

The model is nonsense but everything around it is real: llama.cpp loads it,
tokenizes with its byte-level BPE vocabulary, applies the chat template from
its metadata, and streams tokens. A tiny shape loads and generates in
milliseconds; the benchmark writes a ~1B-parameter shape and quantizes it.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_llama_gguf(pathlib.Path(tmp) / "tiny.gguf", TINY)
...     path.read_bytes()[:4]
b'GGUF'

Nothing here is committed as a binary: callers write to a temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# A ChatML template that is not byte-identical to llama-cpp-python's built-in one,
# so the Jinja template from the metadata is what renders the prompt.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Enough English for a byte-level BPE to learn common words, so token counts look real.
SAMPLE_TEXT = """\
The warranty covers defects in materials and workmanship for a period of two years from
the date of delivery. The supplier shall repair or replace any defective part at its own
cost. This agreement is governed by the laws of the state where the buyer has its seat.
Payment is due within thirty days of the invoice date; late payments bear interest.
The contract may be terminated by either party with ninety days written notice.
Confidential information shall not be disclosed to any third party without consent.
The service level agreement guarantees availability of the system of at least 99.5 percent
per calendar month, measured at the network boundary of the provider.
"""


@dataclass(frozen=True)
class LlamaShape:
    """Hyper-parameters of a llama-architecture model."""

    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int  # padded with unused tokens when the trained BPE is smaller
    n_ctx_train: int = 4096
    tied_embeddings: bool = False


TINY = LlamaShape(n_embd=32, n_layer=2, n_head=4, n_head_kv=2, n_ff=64, n_vocab=1024)
# TinyLlama-1.1B's layout (llama 2 architecture, grouped-query attention).
ONE_B = LlamaShape(
    n_embd=2048, n_layer=22, n_head=32, n_head_kv=4, n_ff=5632, n_vocab=32000, n_ctx_train=4096
)


def training_texts() -> tuple[str, ...]:
    """Sample English plus the pipeline's own prompts, so token counts look realistic."""
    from llm.prompt import SYSTEM
    from llm.rewrite import REWRITE_INSTRUCTION

    return (SAMPLE_TEXT, SYSTEM, REWRITE_INSTRUCTION)


def byte_level_bpe(
    texts: Iterable[str], vocab_size: int, special_tokens: Sequence[str] = SPECIAL_TOKENS
) -> tuple[list[str], list[str]]:
    """(tokens, merges) of a byte-level BPE trained on `texts`; special tokens come first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    tokens = [tok for tok, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, merges


def write_llama_gguf(
    path: Path,
    shape: LlamaShape,
    *,
    chat_template: str | None = CHATML_TEMPLATE,
    texts: Sequence[str] | None = None,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
    dtype: type = np.float32,
    seed: int = 0,
) -> Path:
    """Write a random-weight llama GGUF at `path`, streaming one tensor at a time.

    The first special token is BOS, the last one EOS.
    """
    import gguf

    tokens, merges = byte_level_bpe(texts or training_texts(), shape.n_vocab, special_tokens)
    tokens += [f"<unused_{i}>" for i in range(shape.n_vocab - len(tokens))]
    types = [
        gguf.TokenType.CONTROL
        if tok in special_tokens
        else gguf.TokenType.UNUSED
        if tok.startswith("<unused_")
        else gguf.TokenType.NORMAL
        for tok in tokens
    ]

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("random-weights test model")
    writer.add_context_length(shape.n_ctx_train)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_dimension_count(shape.n_embd // shape.n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(shape.n_vocab)
    writer.add_file_type(
        gguf.LlamaFileType.ALL_F32 if dtype == np.float32 else gguf.LlamaFileType.MOSTLY_F16
    )
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index(special_tokens[0]))
    writer.add_eos_token_id(tokens.index(special_tokens[-1]))
    writer.add_add_bos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    tensors = list(_tensor_shapes(shape))
    for name, numpy_shape, is_norm in tensors:
        tensor_dtype = np.dtype(np.float32 if is_norm else dtype)
        nbytes = int(np.prod(numpy_shape)) * tensor_dtype.itemsize
        writer.add_tensor_info(name, numpy_shape, tensor_dtype, nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    pool = _random_pool(max(int(np.prod(shp)) for _, shp, _ in tensors), dtype, seed)
    offsets = np.random.default_rng(seed + 1)
    # Special and padding tokens get all-zero output rows: their logit is 0 while the
    # best of thousands of random logits is well above, so the model never emits them.
    # Answers are then visible text that runs to max_tokens, which timings rely on.
    silent = [i for i, t in enumerate(types) if t != gguf.TokenType.NORMAL]
    for name, numpy_shape, is_norm in tensors:
        if is_norm:
            data = np.ones(numpy_shape, dtype=np.float32)
        else:
            # Windows of one pool of normal samples: drawing a billion fresh ones would
            # take minutes and buy nothing for a model whose weights mean nothing.
            size = int(np.prod(numpy_shape))
            start = int(offsets.integers(0, len(pool) - size + 1))
            scale = np.asarray(1.0 / np.sqrt(numpy_shape[-1]), dtype=dtype)
            # Scaled so activations neither vanish nor explode through the layers.
            data = (pool[start : start + size] * scale).reshape(numpy_shape)
            if name == "output.weight":
                data[silent] = 0
        writer.write_tensor_data(data)
    writer.close()
    return path


def _random_pool(size: int, dtype: type, seed: int) -> np.ndarray:
    pool_size = min(size * 2, size + (1 << 24))
    return np.random.default_rng(seed).standard_normal(pool_size, dtype=np.float32).astype(dtype)


def _tensor_shapes(shape: LlamaShape) -> Iterable[tuple[str, tuple[int, ...], bool]]:
    """(name, numpy shape, is a norm vector). numpy shapes are ggml's `ne` reversed."""
    head_dim = shape.n_embd // shape.n_head
    kv = shape.n_head_kv * head_dim
    yield "token_embd.weight", (shape.n_vocab, shape.n_embd), False
    for i in range(shape.n_layer):
        yield f"blk.{i}.attn_norm.weight", (shape.n_embd,), True
        yield f"blk.{i}.attn_q.weight", (shape.n_embd, shape.n_embd), False
        yield f"blk.{i}.attn_k.weight", (kv, shape.n_embd), False
        yield f"blk.{i}.attn_v.weight", (kv, shape.n_embd), False
        yield f"blk.{i}.attn_output.weight", (shape.n_embd, shape.n_embd), False
        yield f"blk.{i}.ffn_norm.weight", (shape.n_embd,), True
        yield f"blk.{i}.ffn_gate.weight", (shape.n_ff, shape.n_embd), False
        yield f"blk.{i}.ffn_up.weight", (shape.n_ff, shape.n_embd), False
        yield f"blk.{i}.ffn_down.weight", (shape.n_embd, shape.n_ff), False
    yield "output_norm.weight", (shape.n_embd,), True
    if not shape.tied_embeddings:
        yield "output.weight", (shape.n_vocab, shape.n_embd), False
