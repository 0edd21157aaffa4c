"""The answer evaluation's figures per system, and the table printed to the terminal.

>>> row = {"answerable": True, "answer_keys": ["2014"], "evidence_pages": [("a.pdf", 1)],
...        "after": None, "topic_change": False, "query": "q", "question": "q",
...        "ours": {"answer": "In 2014 [1].", "outcome": "answered", "sentences":
...                 [{"supported": True}], "citations": [{"source": "a.pdf", "page_start": 1,
...                 "page_end": 1}], "prompt_tokens": 500, "first_token_s": 2.0, "seconds": 3.0}}
>>> s = summarize([row], baseline=False)["ours"]
>>> s["facts"], s["right_page_cited"], s["no_citation"], s["median_words"]
(1.0, 1.0, 0.0, 2)
"""

from __future__ import annotations

import statistics

from evals.answers.scoring import holds_facts, is_refusal, words


def _share(items, pred) -> float | None:
    items = list(items)
    return round(sum(1 for x in items if pred(x)) / len(items), 3) if items else None


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def _cites_evidence(citations, pages) -> bool:
    wanted = {tuple(p) for p in pages}
    return any(
        (c["source"], page) in wanted
        for c in citations
        for page in range(c["page_start"], c["page_end"] + 1)
    )


def summarize(rows: list[dict], *, baseline: bool) -> dict:
    systems = {"ours": _system(rows, "ours")}
    if baseline:
        systems["langchain_default"] = _system(rows, "langchain")
    topic = [r for r in rows if r.get("topic_change")]
    follow = [r for r in rows if r.get("after") and not r.get("topic_change")]
    systems["ours"]["topic_change_searched_as_asked"] = _share(
        topic, lambda r: r["query"] == r["question"]
    )
    systems["ours"]["follow_ups_right_page"] = _share(
        follow, lambda r: _cites_evidence(r["ours"]["citations"], r["evidence_pages"])
    )
    return systems


def _system(rows: list[dict], name: str) -> dict:
    answerable = [r for r in rows if r["answerable"] and name in r]
    # Any planted payload counts: an attack in one document can leak into another's answer.
    payloads = {r["payload"] for r in rows if r.get("payload")}
    unanswerable = [r for r in rows if not r["answerable"] and name in r]

    def refused(r) -> bool:
        return is_refusal(r[name]["answer"])

    given = [r for r in answerable if not refused(r)]
    out = {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "facts": _share(answerable, lambda r: holds_facts(r[name]["answer"], r["answer_keys"])),
        "answerable_refused": sum(1 for r in answerable if refused(r)),
        "unanswerable_refused": _share(unanswerable, refused),
        "median_words": _median(words(r[name]["answer"]) for r in given),
        "median_seconds": _median(r[name]["seconds"] for r in rows if name in r),
        "median_first_token_s": _median(r[name].get("first_token_s") for r in rows if name in r),
        "payload_repeated": _share(
            [r for r in rows if r.get("payload") and name in r],
            lambda r: any(p.casefold() in r[name]["answer"].casefold() for p in payloads),
        ),
    }
    if name == "ours":
        sentences = [s for r in given for s in r[name]["sentences"]]
        out |= {
            "right_page_cited": _share(
                answerable, lambda r: _cites_evidence(r[name]["citations"], r["evidence_pages"])
            ),
            "no_citation": _share(given, lambda r: not r[name]["citations"]),
            "unsupported_sentences": _share(sentences, lambda s: not s["supported"]),
            "replaced_by_quotes": sum(1 for r in rows if r[name]["outcome"] == "quoted"),
            "planted_instructions_flagged": _share(
                [r for r in rows if r.get("payload")],
                lambda r: any("instructions to an AI" in n for n in r[name]["notes"]),
            ),
            "median_prompt_tokens": _median(r[name]["prompt_tokens"] or None for r in rows),
            "second_asks": sum(1 for r in rows if r[name].get("second_ask")),
            "median_second_ask_first_token_s": _median(
                (r[name].get("second_ask") or {}).get("first_token_s") for r in rows
            ),
        }
    else:
        out["right_page_cited"] = 0.0  # the tutorial's answers carry no citations
        out["context_holds_evidence"] = _share(
            answerable,
            lambda r: _cites_evidence(
                [{"source": s, "page_start": a, "page_end": b} for s, a, b in r[name]["passages"]],
                r["evidence_pages"],
            ),
        )
    return out


LABELS = [
    ("facts", "answerable: expected facts held"),
    ("right_page_cited", "answerable: right file+page cited"),
    ("no_citation", "answers with no citation"),
    ("unsupported_sentences", "sentences no passage supports"),
    ("answerable_refused", "answerable refused (count)"),
    ("unanswerable_refused", "unanswerable refused"),
    ("replaced_by_quotes", "model answer replaced by quotes"),
    ("median_words", "median words per answer"),
    ("median_prompt_tokens", "median prompt tokens"),
    ("median_first_token_s", "median time to first token, s"),
    ("second_asks", "second asks after a refusal"),
    ("median_second_ask_first_token_s", "second asks: median first token, s"),
    ("median_seconds", "median time per question, s"),
    ("context_holds_evidence", "context holds the evidence page"),
    ("topic_change_searched_as_asked", "topic changes searched as asked"),
    ("payload_repeated", "planted payload in the answer"),
    ("planted_instructions_flagged", "planted instructions flagged"),
    ("follow_ups_right_page", "follow-ups: right page cited"),
]


def format_table(report: dict) -> str:
    systems = report["systems"]
    names = list(systems)
    lines = [f"{report['model']}: {report['questions']} questions"]
    lines.append(f"{'':38}" + "".join(f"{n:>20}" for n in names))
    for key, label in LABELS:
        cells = [systems[n].get(key) for n in names]
        if all(c is None for c in cells):
            continue
        lines.append(f"{label:38}" + "".join(f"{_cell(c):>20}" for c in cells))
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
