"""`python -m api [--host H] [--port P]`: serve the API (`make serve`), on the embedded defaults.

Loads the settings (`RAG_*`), the embedder and the model once (before the first
request, so the first question does not pay for it), and serves with uvicorn in one
process: one model, one index, shared by every client. Exit codes: 0 stopped, 2 a
setting or the model is wrong (the message says what to do).
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.errors import RagError
from core.settings import load_settings
from service.components import factory_spec, load_components
from service.shared import SharedService

LOG = logging.getLogger("api")
LOCAL = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m api",
        description="Serve the OpenAI-compatible API over the indexed PDFs.",
    )
    p.add_argument("--host", help="address to listen on (default: RAG_API_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: RAG_API_PORT, 8000)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("api_host", args.host), ("api_port", args.port)) if v}
    try:
        settings = load_settings(**overrides)
        svc = SharedService(settings, load_components(factory_spec()), lane="api")
        svc.embedder  # noqa: B018  (loaded now, not at the first question)
        status = svc.model_status()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if status.problem is not None:
        LOG.warning("model not used: %s (answers quote passages)", status.problem)
    LOG.info("answering with %s", status.file or "quoted passages (no model)")
    host, port = settings.api.host, settings.api.port
    if host not in LOCAL and not host.startswith("127.") and not settings.api.key_list():
        LOG.warning(
            "listening on %s without RAG_API_KEYS: anyone who can reach it can read every "
            "indexed document and add files from RAG_INGEST_ROOTS",
            host,
        )
    import uvicorn

    from api.server import create_app

    uvicorn.run(create_app(svc), host=host, port=port, log_level="info", access_log=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
