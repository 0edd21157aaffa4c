"""`python -m embed.prepare [--check]`: the command line of `embed.prepare` (see there)."""

from __future__ import annotations

import argparse
import sys

from core.errors import RagError
from embed.prepare import prepare


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m embed.prepare",
        description="Convert the embedding model for this CPU now, once.",
    )
    p.add_argument("--check", action="store_true", help="only say whether it is prepared")
    p.add_argument("--quiet", action="store_true", help="print errors only")
    args = p.parse_args(argv)
    from core.settings import load_settings
    from wiring.root import load_embedder

    try:
        embedder = load_embedder(load_settings())
        needed = embedder.needs_preparing()
        say = (lambda _: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
        say(f"embedding: {embedder.choice.describe()}")
        if args.check or not needed:
            say("embedding: " + ("to be prepared" if needed else "ready (nothing to prepare)"))
            return 1 if needed else 0
        say("embedding: preparing the model for this CPU (once; a minute or two)...")
        seconds = prepare(embedder)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if embedder.backend == "torch":  # the engine could not convert it: `auto` fell back
        say(f"embedding: {embedder.choice.describe()}")
        return 1
    say(f"embedding: prepared in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
