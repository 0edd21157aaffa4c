"""The whole product path in a process where the network does not exist.

    python -m tests.offline_flow DOCS WORKDIR

Every way to open a connection raises before our code is imported, then
ingest -> hybrid search -> an extractive answer -> a generated answer through
llama.cpp with a tiny real GGUF run. Prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import socket
import sys


def _no_network(*_args, **_kwargs):
    raise OSError("network disabled: this process must work offline")


def disable_network() -> None:
    """Called first in main(), never at import: pytest imports this module for doctests."""
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network  # type: ignore[assignment]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]


def main() -> None:
    disable_network()
    import os
    from pathlib import Path

    docs, work = Path(sys.argv[1]), Path(sys.argv[2])
    from core.settings import Settings
    from tests.tiny_gguf import TINY, write_llama_gguf
    from wiring.root import build_session, ingest_documents, open_retriever

    settings = Settings(index_dir=work / "index", models_dir=work / "no-models")
    report = ingest_documents([docs], settings)
    with open_retriever(settings) as retriever:
        passages = retriever.search("What does ELBO stand for?", k=3)
        quoted = build_session(settings, retriever=retriever).ask("What does ELBO stand for?")
        quoted_text = "".join(quoted)
        model = write_llama_gguf(work / "tiny.gguf", TINY)
        with_model = settings.replace(llm_model=model, llm_n_ctx=2048)
        from wiring.root import load_generator

        session = build_session(
            with_model, retriever=retriever, generator=load_generator(with_model)
        )
        generated = session.ask("What does ELBO stand for?")
        generated_text = "".join(generated)
    print(
        json.dumps(
            {
                "added": len(report.added),
                "passages": [p.source for p in passages],
                "quoted_mode": quoted.mode,
                "quoted_cites": len(quoted.citations),
                "quoted_chars": len(quoted_text),
                "generated_mode": generated.mode,
                "generated_chars": len(generated_text),
                "env": {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")},
            }
        )
    )


if __name__ == "__main__":
    main()
