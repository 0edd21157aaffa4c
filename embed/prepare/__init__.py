"""`python -m embed.prepare [--check]`: convert the embedding model for this CPU now, once.

The engine the ingest picks (`embed.choice`) runs a converted copy of the model,
made the first time it is needed and kept in `RAG_MODEL_CACHE_DIR` with
checksums. For the int8 defaults that first time is long: 89 to 108 s (and a
1.3 GB memory peak) for OpenVINO with NNCF, 18 to 21 s for ONNX Runtime, on
this project's 2-core machine (docs/embedding.md, "First use"). So
`make install` runs this, and the first ingest starts at full speed; an ingest
that finds no copy runs it in a child process first and says so, so the
conversion's memory is returned before the parsers start.

`--check` converts nothing: exit 0 when the copy is there and intact, 1 when not.

    `__main__`  `python -m embed.prepare`, its command line
"""

from __future__ import annotations

import subprocess
import sys
import time

__all__ = ["prepare", "prepare_in_child"]


def prepare(embedder) -> float:
    """Make the engine's copy of the model (or read it back); the seconds it took."""
    started = time.perf_counter()
    embedder.embed(["a first sentence, so the engine's copy of the model is made"])
    return time.perf_counter() - started


def prepare_in_child() -> bool:
    """Run `python -m embed.prepare` with this process's settings; whether it succeeded.

    The child's memory (tracing, quantizing) goes back to the system when it exits.
    """
    done = subprocess.run([sys.executable, "-m", "embed.prepare", "--quiet"], check=False)
    return done.returncode == 0
