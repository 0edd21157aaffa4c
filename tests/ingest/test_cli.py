"""`python -m ingest` as users and scripts run it: real model, real parser processes, real PDFs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from index import IndexSnapshot
from index.manifest import read_manifest
from ingest.clean import clean_page_text
from tests import pdf_factory as pdfs

ROOT = Path(__file__).resolve().parents[2]
PATH_FIELDS = ("root", "path", "real_path")
pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.subprocess]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.fixture(scope="module")
def seeds_index(tmp_path_factory):
    from tests.conftest import SEEDS

    if not SEEDS.is_dir():
        pytest.skip(f"shared corpus not found at {SEEDS}")
    docs = tmp_path_factory.mktemp("docs")
    for pdf in sorted(SEEDS.glob("*.pdf"))[:3]:
        shutil.copy(pdf, docs / pdf.name)
    index = tmp_path_factory.mktemp("index") / "idx"
    first = run_cli(str(docs), "--index", str(index), "--json", "--workers", "1")
    return docs, index, first


def test_json_contract_and_exit_code(seeds_index):
    docs, _, first = seeds_index
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    for key in ("files", "pages", "chunks"):
        assert isinstance(report[key], int) and report[key] > 0
    for key in ("added", "updated", "unchanged", "removed", "skipped"):
        assert isinstance(report[key], list)
    assert sorted(report["added"]) == sorted(p.name for p in docs.glob("*.pdf"))
    assert "pages" in first.stderr and "added 3" in first.stderr  # progress + summary on stderr


def test_every_page_of_a_real_pdf_is_findable_on_its_page(seeds_index):
    docs, index, _ = seeds_index
    with IndexSnapshot.open(index) as snap:
        chunks = list(snap.iter_chunks())
        assert max(c.n_tokens for c in chunks) <= 254  # the model reads 256 with [CLS]/[SEP]
        for pdf in sorted(docs.glob("*.pdf")):
            doc = pdfium.PdfDocument(pdf)
            for i in range(len(doc)):
                page_text = _norm(clean_page_text(doc[i].get_textpage().get_text_range()))
                words = page_text.split()
                if len(words) < 12:
                    continue
                probe = " ".join(words[len(words) // 2 : len(words) // 2 + 8])
                assert any(
                    c.source == pdf.name
                    and c.page_start <= i + 1 <= c.page_end
                    and probe in _norm(c.text)
                    for c in chunks
                ), f"{probe!r} of {pdf.name} p. {i + 1} is in no chunk of that page"


def test_rerun_reports_everything_unchanged(seeds_index):
    docs, index, first = seeds_index
    again = run_cli(str(docs), "--index", str(index), "--json", "--quiet")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["added"] == report["updated"] == report["removed"] == []
    assert len(report["unchanged"]) == 3
    assert report["chunks"] == json.loads(first.stdout)["chunks"]


def test_other_chunking_is_refused_with_the_way_out(seeds_index):
    docs, index, _ = seeds_index
    out = run_cli(str(docs), "--index", str(index), "--quiet", env={"RAG_CHUNK_TOKENS": "100"})
    assert out.returncode == 2
    assert "chunk_tokens" in out.stderr and "--rebuild" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_file_sets_exit_code_and_is_named(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "good.pdf", ["A page about lighthouses and their keepers."])
    pdfs.zero_byte_pdf(docs / "empty.pdf")
    out = run_cli(str(docs), "--index", str(tmp_path / "idx"), "--json", "--quiet")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["added"] == ["good.pdf"]
    assert report["skipped"] == [{"file": "empty.pdf", "reason": "empty file (0 bytes)"}]
    assert "skipped: empty.pdf: empty file (0 bytes)" in out.stderr


def test_a_renamed_file_keeps_its_vectors(seeds_index, tmp_path):
    docs, index, _ = seeds_index
    copy_docs, copy_index = tmp_path / "docs", tmp_path / "idx"
    shutil.copytree(docs, copy_docs)
    shutil.copytree(index, copy_index)
    # A document is its file: the copied index must describe the copied folder.
    # (Rewritten through Manifest: it carries its own checksum, so a text edit is refused.)
    old = read_manifest(copy_index)
    moved = {
        key: replace(
            doc, **{f: getattr(doc, f).replace(str(docs), str(copy_docs)) for f in PATH_FIELDS}
        )
        for key, doc in old.documents.items()
    }
    (copy_index / "manifest.json").write_text(old.evolve(documents=moved).to_json())
    renamed = sorted(copy_docs.glob("*.pdf"))[0]
    renamed.rename(copy_docs / f"renamed {renamed.name}")
    out = run_cli(str(copy_docs), "--index", str(copy_index), "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == [f"renamed {renamed.name}"]
    with IndexSnapshot.open(copy_index) as snap:
        chunks = snap.manifest.documents[f"renamed {renamed.name}"].chunks
    assert report["reused_vectors"] == chunks > 0
    assert f"{chunks} chunks kept their stored vectors" in out.stderr
