"""BM25 inside PostgreSQL (`KeywordSearch`), scored as the local index's FTS5 scores.

PostgreSQL's own `ts_rank_cd` is no BM25: it ignores how rare a term is (no idf), so a
question's common words weigh as much as its rare ones. Measured in the hybrid search
(docs/deployment.md, `bench/pg_keyword_rank.py`): on manuals_tricky it fell from hit@5
0.967 to 0.800 and MRR 0.878 to 0.778, and returned passages for every unanswerable
question (0 of 6 left empty, against 4), on seeds_dev 0 of 2 against 2. So BM25 is
computed in SQL, FTS5's formula, from what `rag_keywords` stores per chunk: a tsvector
(its GIN index finds the chunks holding a term), the term frequencies (a header hit
counts half, as in FTS5 with column weights) and the length; `rag_terms` holds each
term's document frequency for idf. Nothing is held in memory per question.

As in `index.keyword`, the rarest terms within `postings_budget` ("drivers") select the
chunks; every term of the question scores them (one query: the term frequencies are at
hand), so only chunks holding frequent terms alone are missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.keyword import K1, KeywordHit, KeywordPlan, idf, plan_terms
from index.pg_schema import HIDDEN

B = 0.75  # FTS5's bm25() length normalization
# Each chunk a driver term selects costs a heap row and its term frequencies here (tens of
# us on this machine, against FTS5's 0.75 us per posting), so the budget is smaller than
# the local index's: measured at 100k chunks, 20,000 postings took ~1 s a question under
# load (docs/deployment.md). The rarest term always drives, whatever its count.
MAX_POSTINGS = 4_000
_CACHE_MAX = 50_000


class PgKeywordSearch:
    available = True

    def __init__(self, reader: Any, postings_budget: int, n_docs: int, tokens: float) -> None:
        """`reader`: the `index.pg_reader.PgIndexReader` whose generation it searches."""
        self._reader = reader
        self.postings_budget = min(postings_budget, MAX_POSTINGS)
        self.n_docs = n_docs
        self.avgdl = tokens / n_docs if n_docs else 1.0
        self._lexeme: dict[str, str] = {}
        self._df: dict[str, int] = {}

    def close(self) -> None:
        pass

    def lexemes(self, terms: Sequence[str]) -> dict[str, str]:
        """Each term as the index holds it (its Snowball stem), cached."""
        todo = [t for t in dict.fromkeys(terms) if t not in self._lexeme]
        if todo:
            if len(self._lexeme) > _CACHE_MAX:
                self._lexeme.clear()
            rows = self._reader._rows(
                "SELECT t, coalesce((SELECT min(lexeme) FROM"
                " unnest(to_tsvector('rag_english', t))), '') FROM unnest(%s::text[]) t",
                (todo,),
            )
            self._lexeme.update(dict(rows))
        return {t: self._lexeme[t] for t in terms}

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        """Committed chunks containing each term (after stemming), cached per reader."""
        lex = self.lexemes(terms)
        todo = [x for x in set(lex.values()) if x and x not in self._df]
        if todo:
            if len(self._df) > _CACHE_MAX:
                self._df.clear()
            rows = self._reader._rows(
                "SELECT term, df FROM rag_terms WHERE term = ANY(%s)", (todo,)
            )
            self._df.update({x: 0 for x in todo} | {t: int(df) for t, df in rows})
        # Counted over the state now, which may have grown past this reader's generation.
        return {t: min(self._df.get(lex[t], 0), self.n_docs) for t in terms}

    def plan(self, terms: Sequence[str]) -> KeywordPlan:
        """The same split as the local index (`index.keyword.plan_terms`)."""
        return plan_terms(terms, self.doc_freq(terms), self.n_docs, self.postings_budget)

    def search(
        self, terms: Sequence[str], limit: int, sources: Sequence[str] | None = None
    ) -> list[KeywordHit]:
        if not terms or limit <= 0 or self.n_docs == 0:
            return []
        plan = self.plan(terms)
        if not plan.drivers:
            return []
        lex, df = self.lexemes(terms), self.doc_freq(terms)
        scored = {lex[t]: idf(self.n_docs, df[t]) for t in (*plan.drivers, *plan.rescored)}
        args: dict = {
            "drivers": sorted({lex[t] for t in plan.drivers}),
            "g": self._reader.generation,
        }
        # One BM25 term per scored lexeme, summed in the row: no join, no aggregate.
        norm = f"{K1} * (1 - {B} + {B} * k.len / {float(self.avgdl)!r})"
        parts = []
        for n, (term, weight) in enumerate(scored.items()):
            args[f"t{n}"] = term
            tf = f"(k.tf -> %(t{n})s)::real"
            parts.append(f"coalesce({weight!r} * {tf} * {K1 + 1} / ({tf} + {norm}), 0)")
        where = f"k.doc_id NOT IN ({HIDDEN})"
        if sources is not None:
            args["docs"] = self._reader.doc_ids_of(sources)
            where += " AND k.doc_id = ANY(%(docs)s)"
        sql = (
            f"SELECT k.chunk_id, {' + '.join(parts)} AS score FROM rag_keywords k"
            " WHERE k.tsv @@ (SELECT string_agg(quote_literal(d), ' | ')"
            " FROM unnest(%(drivers)s::text[]) d)::tsquery"
            f" AND {where} ORDER BY score DESC, k.chunk_id LIMIT {int(limit)}"
        )
        # The GIN index, always: the planner's row estimate leaves out that a scan of the
        # table reads every chunk's keyword row (measured: 1.8 s against 0.45 s at 100k).
        rows = self._reader._rows(sql, args, no_seqscan=True)
        top = plan.max_score or 1.0
        return [KeywordHit(int(i), float(s), min(1.0, float(s) / top)) for i, s in rows]
