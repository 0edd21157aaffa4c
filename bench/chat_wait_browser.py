"""The browser half of `bench/chat_wait.py`: the real app in headless Chromium, timed.

Per question: seconds from Enter to the sources on the page ("Sources found"), to the
first answer text (the streaming cursor), to the finished answer ("Sources" alone). Then a
second tab asks while the first tab's question is answered: the line its answer shows.
Then Stop while the model reads a long prompt: seconds from the click to "Stopped".
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.chat_wait import QUESTIONS
from tests.browser_app import chromium_page, running_app

PENDING = "Sources found"
STOPPED = "Stopped before the answer was finished"
WAIT_MS = 300_000


def _send(page, question: str) -> float:
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=WAIT_MS)
    box.fill(question)
    began = time.monotonic()
    box.press("Enter")
    return began


def _finished(page, n: int) -> None:
    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
              .filter(e => e.innerText.trim() === 'Sources').length >= n
           && ![...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Stop')""",
        arg=n,
        timeout=WAIT_MS,
    )


def _status(page) -> str:
    """The pending answer's status caption (the one ending in '... N s')."""
    captions = page.get_by_test_id("stCaptionContainer").all_inner_texts()
    return next((c for c in reversed(captions) if c.rstrip().endswith(" s")), "")


def question_timings(page, runs: int) -> list[dict]:
    rows, n = [], 0
    for _ in range(runs):
        for question in QUESTIONS:
            began = _send(page, question)
            page.get_by_text(PENDING).first.wait_for(timeout=WAIT_MS)
            sources = time.monotonic() - began
            status = _status(page)
            page.wait_for_function(
                "() => document.body.innerText.includes('▍') || !document.body.innerText"
                ".includes('Sources found')",
                timeout=WAIT_MS,
            )
            first = time.monotonic() - began
            n += 1
            _finished(page, n)
            rows.append(
                {
                    "question": question,
                    "sources_s": round(sources, 2),
                    "first_text_s": round(first, 2),
                    "total_s": round(time.monotonic() - began, 2),
                    "status_with_sources": status,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def second_tab(first, second) -> dict:
    """Tab 2 asks while tab 1's question is answered: what tab 2 shows meanwhile."""
    _send(first, QUESTIONS[1])
    first.get_by_text(PENDING).first.wait_for(timeout=WAIT_MS)
    _send(second, QUESTIONS[2])
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = _status(second)
        if status and (not seen or seen[-1].split(" ... ")[0] != status.split(" ... ")[0]):
            seen.append(status)
        if second.get_by_text("Sources", exact=True).count():
            break
        time.sleep(0.2)
    return {"second_tab_lines": seen}


def stop_timing(page) -> dict:
    began = _send(page, QUESTIONS[1])
    page.get_by_text("The model is reading").first.wait_for(timeout=WAIT_MS)
    reading = time.monotonic() - began
    time.sleep(1.0)
    page.get_by_role("button", name="Stop", exact=True).first.click()
    clicked = time.monotonic()
    page.get_by_text(STOPPED).first.wait_for(timeout=WAIT_MS)
    return {
        "reading_began_s": round(reading, 2),
        "click_to_stopped_s": round(time.monotonic() - clicked, 2),
    }


def browser_runs(index: Path, model: Path, runs: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="rag-bench-chat-wait-"))
    env = {
        "RAG_INDEX_DIR": str(index),
        "RAG_LLM_MODEL": str(model.resolve()),
        "RAG_DOCUMENTS_DIR": str(tmp / "uploads"),
        "RAG_CONVERSATIONS_DIR": str(tmp / "conversations"),
        "RAG_PASSAGES": "12",  # a long prompt: the reading takes long enough to stop it
    }
    out: dict = {}
    with (
        running_app(env, tmp / "streamlit.log", timeout=180) as url,
        chromium_page(tmp / "profile") as page,
    ):
        page.goto(url)
        out["questions"] = question_timings(page, runs)
        out["stop"] = stop_timing(page)
        print(json.dumps(out["stop"]), flush=True)
        other = page.context.new_page()
        other.goto(url)
        fresh = page.context.new_page()
        fresh.goto(url)
        out.update(second_tab(other, fresh))
        print(json.dumps(out["second_tab_lines"]), flush=True)
    return out
