"""PostgreSQL's `ts_rank_cd` in place of BM25 for the keyword half: does it rank as well?

    RAG_STORE_URL=postgresql://... python bench/pg_keyword_rank.py \\
        --qa ../shared/eval/seeds_dev.jsonl --docs ../shared/corpus/seeds --index IDX

Runs the retrieval evaluation (`evals.retrieval`) on the PostgreSQL store twice, with
the keyword half ranked by BM25 in SQL (`index.pg_keyword`, the product) and by
`ts_rank_cd(tsv, query, 32)` over the same GIN-matched chunks (its score, in [0, 1),
is the coverage fusion reads). Prints hit@1, hit@5, MRR and unanswerable-none of each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.retrieval.cli import evaluate
from index.keyword import KeywordHit
from index.pg_keyword import PgKeywordSearch
from index.pg_reader import PgIndexReader
from index.pg_schema import HIDDEN


class TsRankCd(PgKeywordSearch):
    def search(self, terms, limit, sources=None):
        lex = [x for x in self.lexemes(terms).values() if x]
        if not lex or limit <= 0:
            return []
        args = {"lex": sorted(set(lex)), "g": self._reader.generation, "limit": limit}
        where = f"k.doc_id NOT IN ({HIDDEN})"
        if sources is not None:
            args["docs"] = self._reader.doc_ids_of(sources)
            where += " AND k.doc_id = ANY(%(docs)s)"
        rows = self._reader._rows(
            "WITH q AS (SELECT (SELECT string_agg(quote_literal(d), ' | ')"
            " FROM unnest(%(lex)s::text[]) d)::tsquery AS q)"
            " SELECT k.chunk_id, ts_rank_cd(k.tsv, q.q, 32) AS r FROM rag_keywords k, q"
            f" WHERE k.tsv @@ q.q AND {where} ORDER BY r DESC, k.chunk_id LIMIT %(limit)s",
            args,
        )
        return [KeywordHit(int(i), float(r), float(r)) for i, r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args()
    ns = argparse.Namespace(
        qa=args.qa, docs=args.docs, index=args.index, k=5, floor=None, no_baseline=True
    )
    out = {}
    for name in ("bm25", "ts_rank_cd"):
        if name == "ts_rank_cd":
            PgIndexReader.keyword_search = lambda self, budget=20_000: TsRankCd(
                self, budget, self._n, self._tokens
            )
        ours = evaluate(ns)["systems"]["ours"]
        out[name] = {k: ours[k] for k in ours if "hit" in k or "mrr" in k or "empty" in k}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
