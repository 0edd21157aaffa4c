"""Document structure in the chunks: outlines, detected headings, headers, chunk format 2."""

from __future__ import annotations

import io
import sqlite3

import pytest
from pypdf import PdfReader, PdfWriter

from core.errors import IndexMismatchError
from core.settings import Settings, packaged_embedding_model
from core.types import PageText
from index import IndexSnapshot, chunks_db
from index.manifest import read_manifest
from ingest.chunk import chunk_pages
from ingest.extract import open_pdf
from ingest.header import HEADER_TOKENS, Headers
from ingest.structure import DocumentStructure, OutlineEntry, Sections, read_structure
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents, open_retriever

PAGES = [
    "Contents\n1 Starting and Stopping 2\n2 Options 3",
    "1 Starting and Stopping\nRun the program with sbcl. It prints a banner and waits.",
    "2 Options\nThe program reads its settings from the command line.\n"
    "2.1 Runtime Options\n--dynamic-space-size sets the heap size in megabytes.",
    "2.2 Toplevel Options\n--no-userinit skips the init file of the user.",
]


def outline_pdf(path, title="SBCL User Manual"):
    """A real PDF with metadata title and a two-level outline (bookmarks)."""
    reader = PdfReader(io.BytesIO(pdfs.text_pdf_bytes(PAGES)))
    writer = PdfWriter(clone_from=reader)
    writer.add_metadata({"/Title": title})
    writer.add_outline_item(title="1 Starting and Stopping", page_number=1)
    options = writer.add_outline_item(title="2 Options", page_number=2)
    writer.add_outline_item(title="2.1 Runtime Options", page_number=2, parent=options)
    writer.add_outline_item(title="2.2 Toplevel Options", page_number=3, parent=options)
    with open(path, "wb") as f:
        writer.write(f)
    return path


@pytest.mark.parametrize("backend", ["pdfium", "pypdf"])
def test_outline_and_title_are_read_by_both_backends(tmp_path, backend):
    path = outline_pdf(tmp_path / "sbcl.pdf")
    with open_pdf(path, backend) as doc:
        title, outline = read_structure(doc)
    assert title == "SBCL User Manual"
    assert outline == (
        OutlineEntry(0, "1 Starting and Stopping", 2),
        OutlineEntry(0, "2 Options", 3),
        OutlineEntry(1, "2.1 Runtime Options", 3),
        OutlineEntry(1, "2.2 Toplevel Options", 4),
    )


def test_a_pdf_without_outline_has_none(tmp_path):
    path = pdfs.text_pdf(tmp_path / "plain.pdf", ["Just text."])
    with open_pdf(path) as doc:
        assert read_structure(doc) == ("", ())


def test_outline_sections_start_where_their_title_is_on_the_page():
    sections = Sections("t", read_outline_fixture())
    on_page_3 = sections.on_page(PageText(3, PAGES[2]))
    runtime = PAGES[2].index("2.1 Runtime")
    assert on_page_3 == [
        (0, ()),
        (0, ("2 Options",)),
        (runtime, ("2 Options", "2.1 Runtime Options")),
    ]
    # The next page starts in the section the last one ended in.
    assert sections.on_page(PageText(4, PAGES[3]))[0] == (0, ("2 Options", "2.1 Runtime Options"))


def read_outline_fixture():
    return [
        OutlineEntry(0, "1 Starting and Stopping", 2),
        OutlineEntry(0, "2 Options", 3),
        OutlineEntry(1, "2.1 Runtime Options", 3),
        OutlineEntry(1, "2.2 Toplevel Options", 4),
    ]


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        # Numbered headings in order are found, whatever their depth.
        (["1 Intro", "text", "1.1 Scope", "2 Usage", "2.1 Flags"], ["2 Usage", "2.1 Flags"]),
        # A table of contents (page numbers, leaders), list items and sentences are not.
        (["1 Intro 3", "2 Usage …", "3 apples were eaten.", "1990 was a year"], []),
        # A number that does not follow the previous heading is a list item or a table row.
        (["1 Intro", "7 Seven items", "1.1 Scope"], ["1 Intro", "1.1 Scope"]),
    ],
)
def test_numbered_headings_are_detected_from_the_text(lines, want):
    sections = Sections("", ())
    found = sections.on_page(PageText(1, "\n".join(lines)))
    assert list(found[-1][1]) == want


def test_chunks_know_title_section_and_header():
    embedder = FakeEmbedder()
    structure = DocumentStructure(
        "SBCL User Manual", read_outline_fixture(), Headers(embedder, limit=254)
    )
    pages = [PageText(i + 1, text) for i, text in enumerate(PAGES)]
    chunks = chunk_pages(pages, "sbcl.pdf", embedder, 12, 0, structure)
    heap = next(c for c in chunks if "dynamic-space-size" in c.text)
    assert heap.title == "SBCL User Manual"
    assert heap.section == ("2 Options", "2.1 Runtime Options")
    assert heap.heading == "SBCL User Manual › 2 Options › 2.1 Runtime Options"
    assert heap.embed_text == f"{heap.heading}\n{heap.text}"
    # Page provenance is untouched, and the section is no part of the chunk's id.
    assert heap.page_start == heap.page_end == 3
    plain = chunk_pages(pages, "sbcl.pdf", embedder, 12, 0)
    assert [c.chunk_id for c in plain] == [c.chunk_id for c in chunks]
    assert all(c.heading == "" and c.section == () for c in plain)


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("chunk_tokens", [192, 240, 254])
def test_header_and_chunk_stay_within_what_the_model_reads(tmp_path, chunk_tokens):
    from transformers import AutoTokenizer

    from embed.embedder import SentenceTransformerEmbedder

    model = packaged_embedding_model()
    embedder = SentenceTransformerEmbedder(model, device="cpu", batch_size=8)
    judge = AutoTokenizer.from_pretrained(str(model))
    long_title = "A Very Long Manual Title About Runtime Options " * 4
    deep = tuple(f"{i} Section number {i} of the reference manual" for i in range(1, 6))
    text = " ".join(f"--option-{i} sets value {i} of the runtime system." for i in range(200))
    structure = DocumentStructure(long_title, (), Headers(embedder, limit=254))
    structure.sections._path = deep  # deep inside a section path
    pages = [PageText(1, text)]
    chunks = chunk_pages(pages, "m.pdf", embedder, chunk_tokens, 16, structure)
    lengths = [len(ids) for ids in judge([c.embed_text for c in chunks])["input_ids"]]
    assert max(lengths) <= 256  # [CLS] header \n chunk [SEP]
    headed = [c for c in chunks if c.heading]
    assert headed if chunk_tokens <= 240 else True
    for c in headed:
        assert len(judge(c.heading, add_special_tokens=False)["input_ids"]) <= HEADER_TOKENS
        assert c.heading.endswith(deep[-1]) or deep[-1].startswith(c.heading)


def ingest(paths, settings, **kw):
    return ingest_documents(paths, settings, embedder=FakeEmbedder(), parser_processes=0, **kw)


def test_format_2_index_round_trips_structure_and_finds_by_heading(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    outline_pdf(docs / "sbcl.pdf")
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=24, chunk_overlap=4)
    ingest([docs], settings)
    assert read_manifest(settings.paths.index_dir).chunking.chunk_format == 2
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        chunks = list(snap.iter_chunks())
    heap = next(c for c in chunks if "dynamic-space-size" in c.text)
    assert (heap.title, heap.section) == (
        "SBCL User Manual",
        ("2 Options", "2.1 Runtime Options"),
    )
    assert heap.heading.startswith("SBCL User Manual › ")
    with open_retriever(settings, FakeEmbedder()) as retriever:
        passage = retriever.search("dynamic-space-size heap size megabytes", k=1)[0]
        assert passage.section == ("2 Options", "2.1 Runtime Options")
        # Merged with its neighbours, the passage keeps its best chunk's section.
        where = f"sbcl.pdf › 2 Options › 2.1 Runtime Options, {passage.pages}"
        assert passage.location == where and passage.page_start <= 3 <= passage.page_end
        hits = retriever.keyword.search(["user", "manual"], 10)
        assert len(hits) == len(chunks)  # the title is in every chunk's header


def test_a_format_1_index_is_refused_with_the_rebuild_hint(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    outline_pdf(docs / "sbcl.pdf")
    old = Settings(index_dir=tmp_path / "index", chunk_format=1, chunk_tokens=24, chunk_overlap=4)
    ingest([docs], old)
    assert "chunk_format" not in read_manifest(old.paths.index_dir).chunking.to_json()
    with IndexSnapshot.open(old.paths.index_dir) as snap:
        assert all(c.heading == "" and c.section == () for c in snap.iter_chunks())
    new = Settings(index_dir=old.paths.index_dir, chunk_tokens=24, chunk_overlap=4)
    with pytest.raises(IndexMismatchError) as refused:
        ingest([docs], new)
    assert "format 1" in str(refused.value) and "--rebuild" in refused.value.hint
    assert "RAG_CHUNK_FORMAT=1" in refused.value.hint
    ingest([docs], new, rebuild=True)
    assert read_manifest(new.paths.index_dir).chunking.chunk_format == 2


def test_a_generation_from_before_gets_the_new_columns_on_its_next_write(tmp_path):
    path = tmp_path / "chunks.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL,"
        " source TEXT NOT NULL, ordinal INTEGER NOT NULL, page_start INTEGER NOT NULL,"
        " page_end INTEGER NOT NULL, n_tokens INTEGER NOT NULL, text TEXT NOT NULL);"
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id');"
        "INSERT INTO chunks VALUES (1, 'c', 'a.pdf', 0, 1, 1, 2, 'old words');"
        "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');"
    )
    con.close()
    con = chunks_db.open_writable(path)
    con.execute("COMMIT")
    assert {"heading", "title", "section"} <= set(chunks_db.columns(con, "chunks"))
    assert chunks_db.columns(con, chunks_db.FTS_TABLE) == {"text", "heading"}
    found = con.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'old'").fetchall()
    assert found == [(1,)]
    con.close()


# The FHS's layout (DocBook): "Chapter N. Title" headings, sections numbered "N.M." with
# a path for a title, a table of contents with dotted leaders, a chapter without sections.
FHS_LIKE = [
    "Table of Contents\n1. Introduction ........ 1\n1.1. Purpose ........ 1\n"
    "1.2. Conventions ........ 1\n2. The Filesystem ........ 2\n3. The Root Filesystem ........ 3",
    "1\nChapter 1. Introduction\n1.1. Purpose\nThis standard enables software to predict "
    "where files are.\n1.2. Conventions\nNames of files are set in a constant-width font.",
    "2\nChapter 2. The Filesystem\nShareable files can be stored on one host and used on others.",
    "3\nChapter 3. The Root Filesystem\n3.1. Purpose\nThe root filesystem must be adequate to "
    "boot the system.\n3.2. /bin : Essential user command binaries\nThere must be no "
    "subdirectories in /bin.",
    "The Root Filesystem\n4\n3.2.1. Purpose\n/bin contains commands used by the administrator "
    "and by users.\n1. I have removed a library.\n2. I can not find out its name.",
    # Chapter 4's heading is an image: its sections still come after chapter 3's.
    "5\n4.1. Purpose\nThe /usr hierarchy is shareable, read-only data.",
]


def test_chapter_headings_and_their_sections_label_every_page(tmp_path):
    """Every FHS page was labelled "1.1. Purpose › 1.2. Conventions" (issue 23)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "fhs.pdf", FHS_LIKE)
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=24, chunk_overlap=0)
    ingest([docs], settings)
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        chunks = list(snap.iter_chunks())

    def section(words: str) -> tuple[str, ...]:
        return next(c.section for c in chunks if words in c.text)

    assert section("predict") == ("Chapter 1. Introduction", "1.1. Purpose")
    assert section("constant-width") == ("Chapter 1. Introduction", "1.2. Conventions")
    assert section("Shareable files") == ("Chapter 2. The Filesystem",)
    assert section("adequate to boot") == ("Chapter 3. The Root Filesystem", "3.1. Purpose")
    bin_section = ("Chapter 3. The Root Filesystem", "3.2. /bin : Essential user command binaries")
    assert section("no subdirectories") == bin_section
    # A numbered list inside a section is no heading; the section goes on over the page.
    assert section("can not find out") == (*bin_section, "3.2.1. Purpose")
    assert section("read-only data") == ("4.1. Purpose",)
