"""The Streamlit page under Streamlit's AppTest, with the fake embedder and a scripted model.

The fakes are injected the way a user never sees: `RAG_APP_FACTORY` names a
factory in `tests/app_fakes.py`. Every test builds its own small index.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.settings import Settings
from tests import app_fakes
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf, text_pdf_bytes
from wiring.root import ingest_documents

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
QUESTION = "How long does the warranty last?"
WARRANTY_PAGES = [
    "The warranty lasts two years from the date of delivery. Defects in materials are covered.",
    "Returns are accepted within thirty days. Shipping costs are paid by the customer.",
]
ROCKET_PAGES = ["The rocket engine burns liquid oxygen and kerosene at high pressure."]
HOSTILE_PAGES = [
    "Warranty claims: <script>alert(1)</script> and ![pixel](http://tracker.example/p.png) "
    "and [click](javascript:alert(2)) cost $5 to $10."
]


def plain(markdown: str) -> str:
    """What a reader sees of escaped Markdown: no backslash escapes, bold, line breaks or
    the invisible word joiners that keep URLs from becoming links (`app.safe_markdown`)."""
    text = markdown.replace("**", "").replace("\u2060", "")
    return " ".join(re.sub(r"\\(.)", r"\1", text).split())


def listed(at: AppTest) -> list[str]:
    """The document names in the sidebar's list (bold file name, then its folder)."""
    names = [re.match(r"\*\*(.+?)\*\*", m.value) for m in at.sidebar.markdown]
    return [re.sub(r"\\(.)", r"\1", n.group(1)) for n in names if n]


def all_markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """An empty index location, an empty models folder, and the scripted model."""
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_DOCUMENTS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("RAG_INGEST_ROOTS", str(tmp_path / "docs"))  # the folder box may read it
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("RAG_RELEVANCE_FLOOR", "0.05")  # the fake embedder's scores are low
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:scripted")
    app_fakes.GENERATORS.clear()
    yield tmp_path
    st.cache_resource.clear()  # the next test gets fresh services


@pytest.fixture
def indexed(app_env):
    docs = app_env / "docs"
    docs.mkdir()
    text_pdf(docs / "warranty.pdf", WARRANTY_PAGES)
    text_pdf(docs / "rockets.pdf", ROCKET_PAGES)
    report = ingest_documents([docs], Settings(), embedder=FakeEmbedder(), parser_processes=0)
    assert sorted(report.added) == ["rockets.pdf", "warranty.pdf"]
    return app_env


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str = QUESTION) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    assert not at.main.error, [e.value for e in at.main.error]
    return at


def test_empty_index_says_how_to_add_documents(app_env):
    at = start()
    assert any("No documents yet" in i.value and "ingest" in i.value for i in at.info)
    assert at.chat_input[0].disabled
    assert at.expander[0].label == "Add PDFs" and at.expander[0].proto.expanded


def test_question_streams_an_answer_with_citations_and_sources(indexed):
    at = ask(start())
    user, assistant = at.chat_message
    assert user.name == "user" and plain(user.markdown[0].value) == QUESTION
    answer = assistant.markdown[0].value
    assert "The warranty lasts two years" in plain(answer)
    assert "[**\\[1\\]**](#source-1-1)" in answer  # the citation, in bold, links to source 1
    labels = [plain(e.label) for e in assistant.expander]
    assert re.match(r"\[1\] warranty\.pdf pp?\. 1(-2)? · \w+ match \(0\.\d\d\) · cited$", labels[0])
    assert assistant.expander[0].proto.expanded  # the cited passage is open
    passage = assistant.expander[0].markdown[0].value
    assert "**warranty**" in passage and "**lasts**" in passage  # a plural/3rd person matches
    assert "**the**" not in passage  # stopwords are not highlighted
    # The model got the passage, and the sidebar's default settings.
    messages, params = app_fakes.GENERATORS[-1].calls[-1]
    assert "two years" in messages[-1].content
    assert params.temperature == pytest.approx(Settings().llm.temperature)
    assert params.max_tokens <= Settings().llm.max_tokens


def test_the_cited_page_is_shown_rendered_with_the_passage_highlighted(indexed):
    at = ask(start())
    source = at.chat_message[1].expander[0]
    assert source.toggle[0].label == "Show the page" and source.toggle[0].value
    images = source.get("image")
    assert len(images) == 1
    alt = images[0].proto.imgs[0].alt
    assert alt == "Page 1 of warranty.pdf: the passage is highlighted in yellow"
    assert [b.label for b in source.get("download_button")] == ["Page 1 as PNG", "The whole PDF"]
    other = at.chat_message[1].expander[1]
    assert not other.toggle[0].value and not other.get("image")  # uncited: on request
    other.toggle[0].set_value(True).run()
    assert not at.exception and at.chat_message[1].expander[1].get("image")


def test_answer_settings_reach_search_and_model(indexed):
    at = start()
    at.slider(key="passages").set_value(1)
    at.slider(key="temperature").set_value(0.7)
    at.slider(key="max_tokens").set_value(128)
    at.multiselect(key="search_documents").set_value(["rockets.pdf"])
    ask(at, "What does the rocket engine burn?")
    assistant = at.chat_message[1]
    labels = [plain(e.label) for e in assistant.expander]
    assert len(labels) == 1 and labels[0].startswith("[1] rockets.pdf p. 1")
    params = app_fakes.GENERATORS[-1].calls[-1][1]
    assert params.temperature == pytest.approx(0.7)
    assert params.max_tokens <= 128


def test_conversation_is_kept_cleared_and_downloadable(indexed):
    at = ask(ask(start()), "And the returns?")
    assert len(at.chat_message) == 4
    download = at.get("download_button")[0]
    assert not download.disabled
    clear = next(b for b in at.button if b.label == "Clear")
    clear.click().run()
    assert not at.exception
    assert len(at.chat_message) == 0
    assert at.get("download_button")[0].disabled


def test_no_model_says_where_to_put_one_and_quotes_passages(indexed, monkeypatch):
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:no_model")
    at = start()
    status = " ".join(i.value for i in at.sidebar.info)
    assert "No model: quoting passages" in status and ".gguf" in status
    assert "RAG_LLM_MODEL" in status and "models" in status
    assert at.slider(key="temperature").disabled
    answer = ask(at).chat_message[1].markdown[0].value
    assert plain(answer).startswith("Quoted from your documents")
    assert "two years" in answer and "**\\[1\\]**" in answer


def test_a_model_that_fails_to_load_is_reported_and_answers_are_quoted(indexed, monkeypatch):
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:broken_model")
    at = start()
    errors = [plain(e.value) for e in at.sidebar.error]
    assert errors == [
        "model.gguf is not a GGUF model: it is an HTML page. Next step: download it again"
    ]
    answer = ask(at).chat_message[1].markdown[0].value
    assert plain(answer).startswith("Quoted from your documents")


def test_a_real_gguf_model_is_described_and_streams_an_answer(indexed, monkeypatch):
    from tests.tiny_gguf import TINY, write_llama_gguf

    (indexed / "models").mkdir()
    write_llama_gguf(indexed / "models" / "tiny.gguf", TINY)
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:real_model")
    monkeypatch.setenv("RAG_LLM_N_CTX", "1024")
    monkeypatch.setenv("RAG_LLM_N_THREADS", "1")
    at = start()
    assert "tiny.gguf" in [plain(m.value) for m in at.sidebar.markdown]
    status = " ".join(c.value for c in at.sidebar.caption)
    assert f"context 1024 tokens; 0 of {TINY.n_layer + 1} layers on the GPU (CPU only)" in status
    assert at.slider(key="max_tokens").max == 512  # half the context at most
    at.slider(key="max_tokens").set_value(64)
    assistant = ask(at).chat_message[1]
    assert assistant.markdown[0].value.strip()  # random weights: some text, streamed
    assert plain(assistant.expander[0].label).startswith("[1] warranty.pdf")


def test_pdf_text_cannot_inject_html_links_or_images(app_env):
    (app_env / "docs").mkdir()
    text_pdf(app_env / "docs" / "hostile.pdf", HOSTILE_PAGES)
    ingest_documents([app_env / "docs"], Settings(), embedder=FakeEmbedder(), parser_processes=0)
    at = ask(start(), "What do warranty claims cost?")
    rendered = all_markdown(at) + [e.label for e in at.expander]
    joined = "\n".join(rendered)
    assert "script" in joined  # the text is shown ...
    assert not re.search(r"(?<!\\)<", joined)  # ... but never as a tag
    ours = re.sub(r"\]\(#source-\d+-\d+\)", "", joined)  # [n] links to this page's sources
    assert "](" not in ours.replace("\\](", "").replace("\\]\\(", "")  # no live link/image
    assert not re.search(r"(?<!\\)\$", joined)  # no math
    # Streamlit's own switch for raw HTML is never on.
    assert all(not m.proto.allow_html for m in at.markdown)


def test_upload_adds_pdfs_and_reports_rejected_ones(app_env):
    at = start()
    pdf = text_pdf_bytes(WARRANTY_PAGES)
    at.file_uploader[0].set_value(
        [
            ("../../escape warranty.pdf", pdf, "application/pdf"),
            ("fake.pdf", b"hello, not a pdf", "application/pdf"),
        ]
    ).run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("1 added: 2 pages") for s in at.success)
    assert any("fake.pdf is not a PDF" in plain(w.value) for w in at.warning)
    saved = sorted(p.name for p in (app_env / "uploads").iterdir())
    assert saved == ["escape warranty.pdf"]  # the name cannot leave the uploads folder
    assert listed(at) == ["escape warranty.pdf"]
    assert not at.chat_input[0].disabled  # searchable at once
    answer = ask(at).chat_message[1].markdown[0].value
    assert "two years" in answer


def test_upload_errors_are_messages_not_the_error_page(app_env, monkeypatch):
    """Issue 27 finding 5: too many files, or a folder that cannot be written, crashed the page."""
    monkeypatch.setenv("RAG_UPLOAD_MAX_FILES", "2")
    at = start()
    pdf = text_pdf_bytes(WARRANTY_PAGES)
    files = [(f"w{i}.pdf", pdf + b" " * i, "application/pdf") for i in range(3)]
    at.file_uploader[0].set_value(files).run()
    assert not at.exception, at.exception
    assert [plain(e.value).split(". Next step")[0] for e in at.error] == [
        "3 files in one upload; at most 2 are accepted"
    ]
    assert not at.file_uploader[0].value  # emptied: the failed upload is not tried again
    at.run()
    assert not at.exception and not at.error  # the message was shown once
    monkeypatch.setenv("RAG_UPLOAD_MAX_FILES", "50")
    (app_env / "uploads").write_text("a file where the uploads folder should be")
    at = start()
    at.file_uploader[0].set_value(files[:2]).run()
    assert not at.exception, at.exception
    shown = [plain(w.value) for w in [*at.warning, *at.error]]
    assert any("w0.pdf could not be saved" in m and "Next step" in m for m in shown), shown
    assert any("1 more uploaded files were not saved" in m for m in shown), shown


def test_folder_path_is_ingested_and_skips_are_explained(app_env):
    docs = app_env / "docs"
    docs.mkdir()
    text_pdf(docs / "warranty.pdf", WARRANTY_PAGES)
    (docs / "broken.pdf").write_bytes(b"")
    at = start()
    at.text_input[0].input(str(docs))
    next(b for b in at.button if b.label == "Add folder").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("1 added, 1 skipped: 2 pages") for s in at.success)
    assert any("broken.pdf: empty file" in plain(w.value) for w in at.warning)
    skipped = [plain(m.value) for m in at.sidebar.expander[0].markdown]
    assert skipped == ["broken.pdf: empty file (0 bytes)"]
    assert listed(at) == ["warranty.pdf"]


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_remove_asks_first_and_removes_only_on_yes(indexed):
    at = start()
    chooser = at.multiselect(key="remove_documents")
    assert chooser.proto.select_all == 0  # no "Select all" row: no mass choice by Enter
    chooser.set_value(["rockets.pdf"]).run()
    button(at, "Remove").click().run()
    assert not at.exception, at.exception
    assert listed(at) == ["rockets.pdf", "warranty.pdf"]  # nothing removed by one click
    question = plain(at.sidebar.warning[0].value)
    assert question.startswith("Remove rockets.pdf from the index? The file stays on disk")
    button(at, "Remove 1 document").click().run()
    assert not at.exception, at.exception
    assert listed(at) == ["warranty.pdf"]
    assert any("Removed 1 document" in plain(s.value) for s in at.success)
    assert at.multiselect(key="search_documents").options == ["warranty.pdf"]


def test_remove_can_be_called_off(indexed):
    at = start()
    at.multiselect(key="remove_documents").set_value(["rockets.pdf", "warranty.pdf"]).run()
    button(at, "Remove").click().run()
    assert "Remove 2 documents (rockets.pdf, warranty.pdf)" in plain(at.sidebar.warning[0].value)
    button(at, "Keep them").click().run()
    assert not at.exception, at.exception
    assert listed(at) == ["rockets.pdf", "warranty.pdf"]
    assert not at.sidebar.warning and button(at, "Remove")


def test_an_over_long_question_is_refused_at_once_with_the_limit(indexed, monkeypatch):
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "500")
    at = start()
    at.chat_input[0].set_value("How long does the warranty last? " * 40).run()
    assert not at.exception, at.exception
    user, assistant = at.chat_message
    assert plain(user.markdown[0].value).endswith("…")  # the start of it, not all of it
    message = plain(assistant.error[0].value)
    assert "The question is 1,319 characters long; the limit is 500" in message
    assert "RAG_MAX_QUESTION_CHARS" in message
    assert not app_fakes.GENERATORS[-1].calls  # the model never saw it


def test_documents_are_found_by_any_part_of_their_path_and_sorted(app_env):
    docs = app_env / "docs"
    deep = docs / "auto-multiple-choice-doc-pdf" / "usr" / "share" / "doc"
    deep.mkdir(parents=True)
    text_pdf(deep / "auto-multiple-choice.en.pdf", WARRANTY_PAGES + ROCKET_PAGES)
    text_pdf(docs / "alpha rockets.pdf", ROCKET_PAGES)
    ingest_documents([docs], Settings(), embedder=FakeEmbedder(), parser_processes=0)
    at = start()
    assert listed(at) == ["alpha rockets.pdf", "auto-multiple-choice.en.pdf"]  # by name
    folder = plain(at.sidebar.markdown[1].value)
    assert "auto-multiple-choice-doc-pdf/\u200busr/\u200bshare/\u200bdoc/" in folder  # whole
    details = [plain(c.value) for c in at.sidebar.caption]
    assert any(d.startswith("3 pages; added ") for d in details)
    at.text_input(key="document_query").input("ROCK").run()
    assert listed(at) == ["alpha rockets.pdf"]
    assert any(c.value == "1 of 2 match" for c in at.sidebar.caption)
    at.text_input(key="document_query").input("").run()
    at.selectbox(key="document_order").set_value("Most pages").run()
    assert listed(at) == ["auto-multiple-choice.en.pdf", "alpha rockets.pdf"]  # 3 pages, 1


@pytest.mark.parametrize("damaged", [b"{ not json", b'{"format": "pdf-chat-index\xff"}'])
def test_errors_are_messages_with_a_next_step(app_env, damaged):
    index = app_env / "index"
    index.mkdir()
    (index / "manifest.json").write_bytes(damaged)
    at = start()
    assert len(at.error) == 1
    message = plain(at.error[0].value)
    assert "is damaged" in message and "Next step: rebuild the index" in message


def test_a_failing_question_is_a_message_not_a_traceback(indexed):
    damaged = next((indexed / "index").glob("gen-*/vectors*"))
    damaged.write_bytes(damaged.read_bytes()[:-8])  # the page opens; the search cannot
    at = start()
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception
    message = plain(at.chat_message[1].error[0].value)
    assert "Next step: rebuild the index" in message


def test_a_served_model_is_described_and_answers_and_its_failure_is_a_message(indexed, monkeypatch):
    from tests.llm.served_stub import StubServer

    (indexed / "models").mkdir()
    for name in ("one.gguf", "two.gguf"):  # installed, but the server answers
        (indexed / "models" / name).write_bytes(b"GGUF")
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:real_model")
    with StubServer() as stub:
        monkeypatch.setenv("RAG_LLM_URL", stub.url)
        at = start()
        status = " ".join(c.value for c in at.sidebar.caption)
        assert f"served by {stub.url}" in plain(status) and "extras/tokenize" in plain(status)
        assert "Installed models" not in [s.label for s in at.sidebar.selectbox]
        answer = ask(at).chat_message[1].markdown[0].value
        assert plain(answer).startswith("Two years")
    at.chat_input[0].set_value("And the returns?").run()  # the server is gone now
    assert not at.exception
    message = plain(at.chat_message[3].error[0].value)
    assert "cannot reach the model server" in message and "RAG_LLM_URL" in message
