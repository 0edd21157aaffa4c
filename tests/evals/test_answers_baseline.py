"""The answer harness's LangChain baseline: its first token is timed, and its answers
reach the partial file as they come (a run cut short keeps them)."""

import json
from types import SimpleNamespace

from evals.answers.baseline import LangChainRag
from evals.answers.cli import _ask_baseline
from evals.answers.report import summarize


class _Store:
    def similarity_search(self, question, k):
        return [
            SimpleNamespace(page_content="Use dpkg -S.", metadata={"source": "a.pdf", "page": 2})
        ]


class _Llm:
    def stream(self, prompt):
        yield SimpleNamespace(content="")  # the role-only chunk comes first
        yield SimpleNamespace(content="Use ")
        yield SimpleNamespace(content="dpkg -S.")


def _rag() -> LangChainRag:
    from langchain_core.prompts import ChatPromptTemplate

    from evals.answers.baseline import RAG_PROMPT

    rag = object.__new__(LangChainRag)  # no model file: the stream is scripted
    rag.retrieval = SimpleNamespace(store=_Store(), relative=lambda s: s)
    rag.prompt = ChatPromptTemplate.from_messages([("human", RAG_PROMPT)])
    rag.llm = _Llm()
    return rag


def test_baseline_answer_is_streamed_and_its_first_token_timed():
    answer = _rag().ask("Which package owns a file?")
    assert answer.text == "Use dpkg -S."
    assert answer.hits == (("a.pdf", 3, 3),)
    assert answer.first_token_s is not None and 0 <= answer.first_token_s <= answer.seconds


def test_baseline_answers_reach_the_partial_file_and_the_summary(tmp_path):
    rows = [
        {"id": "q1", "answerable": True, "answer_keys": ["dpkg -S"], "evidence_pages": []},
        {"id": "q2", "answerable": False, "answer_keys": [], "evidence_pages": []},
    ]
    questions = [SimpleNamespace(id=r["id"], question="Which package owns a file?") for r in rows]
    partial = tmp_path / "out.json.partial.jsonl"
    _ask_baseline(rows, questions, _rag(), partial)
    lines = [json.loads(x) for x in partial.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["q1", "q2"]
    assert lines[0]["langchain"]["answer"] == "Use dpkg -S."
    ours = {"answer": "NOT_FOUND", "outcome": "refused", "citations": [], "sentences": []}
    ours |= {"notes": [], "prompt_tokens": 0, "first_token_s": None, "seconds": 1.0}
    for row in rows:
        row |= {"ours": dict(ours), "query": "q", "question": "q", "after": None}
    lc = summarize(rows, baseline=True)["langchain_default"]
    assert lc["facts"] == 1.0 and lc["unanswerable_refused"] == 0.0
    assert lc["median_first_token_s"] is not None
