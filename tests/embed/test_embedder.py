"""The real packaged all-MiniLM-L6-v2: offline loading, vectors, exact token counts."""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.settings import DEFAULT_EMBEDDING_NAME, Settings, packaged_embedding_model
from core.types import PageText
from embed.embedder import SentenceTransformerEmbedder
from ingest.chunk import chunk_pages
from wiring.root import load_embedder

SEED_PDF = Path(__file__).resolve().parents[3] / "shared/corpus/seeds/000_a6b0812c5e96f991.pdf"


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(packaged_embedding_model(), device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def model_tokenizer(embedder):
    """The tokenizer that the loaded SentenceTransformer itself uses: an independent judge."""
    embedder.embed(["load the model"])
    return embedder._model.tokenizer


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def linked_copy(source: Path, target: Path) -> Path:
    """The model folder "copied" elsewhere; files are symlinks so the test stays fast."""
    shutil.copytree(source, target, copy_function=os.symlink)
    return target


def test_info_comes_from_the_folder_without_loading_anything():
    fresh = SentenceTransformerEmbedder(packaged_embedding_model())
    info = fresh.info
    assert (info.model_id, info.dim, info.max_tokens) == (DEFAULT_EMBEDDING_NAME, 384, 256)
    assert re.fullmatch(r"[0-9a-f]{16}", info.fingerprint)
    assert fresh._model is None and fresh._tokenizer is None


def test_fingerprint_follows_the_files_not_the_path(tmp_path):
    packaged = packaged_embedding_model()
    copy = SentenceTransformerEmbedder(linked_copy(packaged, tmp_path / "my-minilm"))
    original = SentenceTransformerEmbedder(packaged).info
    assert copy.info.fingerprint == original.fingerprint
    assert copy.info.model_id == "my-minilm"

    changed = linked_copy(packaged, tmp_path / "changed")
    (changed / "sentence_bert_config.json").unlink()
    (changed / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    changed_info = SentenceTransformerEmbedder(changed).info
    assert changed_info.max_tokens == 128
    assert changed_info.fingerprint != original.fingerprint


def test_load_embedder_uses_the_settings(tmp_path):
    embedder = load_embedder(Settings(embedding_batch_size=7, embedding_device="cpu"))
    assert embedder.model_path == packaged_embedding_model()
    assert embedder.batch_size == 7
    with pytest.raises(ConfigError, match="RAG_EMBEDDING_MODEL"):
        load_embedder(Settings(embedding_model=tmp_path / "absent"))


def test_a_folder_that_is_no_sentence_transformers_model_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"absent.*does not exist.*RAG_EMBEDDING_MODEL"):
        SentenceTransformerEmbedder(tmp_path / "absent")
    with pytest.raises(ConfigError, match="not a sentence-transformers model"):
        SentenceTransformerEmbedder(tmp_path)
    (tmp_path / "modules.json").write_text('[{"idx": 0, "path": "", "type": "x.Transformer"}]')
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"lacks weights, tokenizer.*RAG_EMBEDDING_MODEL"):
        SentenceTransformerEmbedder(tmp_path)


@pytest.mark.slow
@pytest.mark.model
def test_broken_weights_give_a_config_error_on_first_use(tmp_path, embedder):
    broken = linked_copy(packaged_embedding_model(), tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    broken_embedder = SentenceTransformerEmbedder(broken)
    text = ["the tokenizer still works"]
    assert broken_embedder.count_tokens(text) == embedder.count_tokens(text)
    with pytest.raises(ConfigError, match=r"cannot load embedding model .*broken"):
        broken_embedder.embed(["now the weights are needed"])


@pytest.mark.slow
@pytest.mark.model
def test_vectors_are_normalized_float32_and_meaningful(embedder):
    texts = [
        "A man is playing a guitar on stage.",
        "Someone performs music with a guitar.",
        "The central bank raised interest rates again.",
    ]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.3
    assert embedder.embed([]).shape == (0, 384)
    np.testing.assert_allclose(embedder.embed(texts[:1])[0], vectors[0], atol=1e-5)


@pytest.mark.slow
@pytest.mark.model
def test_counts_match_the_models_own_tokenizer(embedder, model_tokenizer):
    texts = ["Hello, world!", "", "Tokenization of naïve café résumés.", "x" * 300, "日本語"]
    with_specials = model_tokenizer(texts, truncation=False)["input_ids"]
    assert embedder.count_tokens(texts) == [len(ids) - 2 for ids in with_specials]
    assert embedder.count_tokens([]) == []


@pytest.mark.slow
@pytest.mark.model
def test_counting_is_safe_from_several_threads(embedder):
    texts = [f"sentence number {i} " * (i % 7 + 1) for i in range(200)]
    expected = embedder.count_tokens(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(embedder.count_tokens, [texts] * 8))
    assert results == [expected] * 8


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("max_tokens", [1, 5, 17, 64])
def test_split_to_tokens_is_bounded_and_loses_only_whitespace(embedder, max_tokens):
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis" * 2  # 90 chars, many pieces
    text = (
        "Retrieval works on chunks.\n  Each chunk, however long, fits the model's window. "
        f"{long_word} and ({long_word}); naïve-café "
    ) * 6
    pieces = embedder.split_to_tokens(text, max_tokens)
    counts = embedder.count_tokens(pieces)
    assert max(counts) <= max_tokens
    assert sum(counts) >= embedder.count_tokens([text])[0]  # nothing dropped
    assert "".join("".join(pieces).split()) == "".join(text.split())
    assert all(piece == piece.strip() and piece for piece in pieces)


@pytest.mark.slow
@pytest.mark.model
def test_split_to_tokens_returns_short_text_whole(embedder):
    assert embedder.split_to_tokens("  short text \n", 10) == ["short text"]
    assert embedder.split_to_tokens(" \n ", 10) == []


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("max_tokens", [254, 64])
def test_chunks_of_a_real_pdf_page_fit_the_model(embedder, model_tokenizer, max_tokens):
    pdfium = pytest.importorskip("pypdfium2")
    if not SEED_PDF.is_file():
        pytest.skip(f"seed PDF not found at {SEED_PDF}")
    document = pdfium.PdfDocument(SEED_PDF)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    pages = [PageText(1, text), PageText(2, "\ufffd\ufffd"), PageText(3, text[:400])]
    chunks = chunk_pages(pages, SEED_PDF.name, embedder, max_tokens, overlap_tokens=32)
    assert len(chunks) >= (2 if max_tokens == 254 else 8)
    with_specials = model_tokenizer([c.text for c in chunks], truncation=False)["input_ids"]
    assert [len(ids) - 2 for ids in with_specials] == [c.n_tokens for c in chunks]
    assert max(c.n_tokens for c in chunks) <= max_tokens
    assert set(words(text)) <= {w for c in chunks for w in words(c.text)}
    assert chunks[-1].page_end == 3 and all(c.page_end != 2 for c in chunks)
