"""How safe is the served model's token estimate (`llm.served_tokens.EstimateCounter`)?

    .venv/bin/python bench/token_estimate.py --model models/M.gguf \\
        --index /tmp/idx_seeds --index /tmp/idx_manuals

For every chunk of the indexes: its UTF-8 bytes per real token (the GGUF's tokenizer),
and whether the estimate (bytes / 2.5) is at least the real count. Then for prompts as
the app builds them (system prompt, four passages in their index order, a question):
the estimate against the exact count of the rendered chat template, i.e. the tokens the
estimate spends as margin.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.types import Passage
from index import IndexSnapshot
from llm.gguf_tokenizer import GgufTokenizer
from llm.prompt import build_messages
from llm.served_tokens import EstimateCounter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--index", type=Path, action="append", required=True)
    args = ap.parse_args()
    exact, estimate = GgufTokenizer(args.model), EstimateCounter()
    texts: list[str] = []
    for index in args.index:
        with IndexSnapshot.open(index, verify=False) as snap:
            texts += [c.text for c in snap.iter_chunks()]
    ratios, under = [], 0
    for text in texts:
        real = exact.count_text(text)
        ratios.append(len(text.encode("utf-8")) / max(real, 1))
        under += estimate.count_text(text) < real
    prompts = []
    for start in range(0, len(texts) - 4, 4):
        passages = [
            Passage(f"d{i}.pdf", 1, 1, 0.5, t) for i, t in enumerate(texts[start : start + 4])
        ]
        messages = build_messages("What does the document say about this?", passages)
        prompts.append((exact.count_messages(messages), estimate.count_messages(messages)))
    over = [e / r for r, e in prompts]
    print(
        json.dumps(
            {
                "model": args.model.name,
                "chunks": len(texts),
                "bytes_per_token_min": round(min(ratios), 2),
                "bytes_per_token_p1": round(statistics.quantiles(ratios, n=100)[0], 2),
                "bytes_per_token_median": round(statistics.median(ratios), 2),
                "chunks_estimated_below_real": under,
                "prompts": len(prompts),
                "prompt_tokens_median": statistics.median(r for r, _ in prompts),
                "estimate_over_real_min": round(min(over), 3),
                "estimate_over_real_median": round(statistics.median(over), 3),
                "prompts_estimated_below_real": sum(e < r for r, e in prompts),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
