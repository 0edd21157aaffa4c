"""The model half of the shared set-up: llama-cpp-python's OpenAI-compatible server on a GGUF.

    .venv/bin/python deploy/model_server.py --model models/M.gguf            # serves until Ctrl-C
    .venv/bin/python deploy/model_server.py --model models/M.gguf -- CMD ...  # CMD answers with it
    make serve-model        make serve-stack

It starts `python -m llama_cpp.server` bound to 127.0.0.1 (never to the network), with
`--interrupt_requests False` (otherwise a second request ends the answer in progress),
and waits until `/v1/models` answers. Then it prints the settings that point the app at
it (`RAG_LLM_URL`, `RAG_LLM_SERVED_MODEL`, `RAG_LLM_N_CTX`, `RAG_LLM_TOKENIZER`), or runs
CMD with them set and stops the server when CMD ends. The tests and
`bench/served_llm.py` start their servers with `start_model_server` from here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ModelServer:
    """A running `llama_cpp.server`; `stop()` ends it (also as a context manager)."""

    process: subprocess.Popen
    url: str  # the API's base URL, .../v1
    alias: str  # the model's name on the server
    model: Path
    n_ctx: int
    log: Path
    _log_file: object = field(default=None, repr=False)

    def env(self, tokenizer: bool = True) -> dict[str, str]:
        """The settings that point the app at this server."""
        env = {
            "RAG_LLM_URL": self.url,
            "RAG_LLM_SERVED_MODEL": self.alias,
            "RAG_LLM_N_CTX": str(self.n_ctx),
        }
        if tokenizer:  # the same file, for exact counts without a round trip
            env["RAG_LLM_TOKENIZER"] = str(self.model)
        return env

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's clean shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_model_server(
    model: Path,
    *,
    port: int = 0,
    n_ctx: int = 4096,
    threads: int = 0,
    alias: str | None = None,
    log: Path | None = None,
    wait_s: float = 180.0,
    extra: tuple[str, ...] = (),
) -> ModelServer:
    """Start the server on `model` (port 0: a free one) and wait until it answers."""
    model = Path(model).resolve()
    if not model.is_file():
        raise FileNotFoundError(f"no model file at {model}")
    port = port or free_port()
    alias = alias or model.name.removesuffix(".gguf")
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
        "--model_alias", alias, "--interrupt_requests", "False",
        *(["--n_threads", str(threads)] if threads else []),
        *extra,
    ]  # fmt: skip
    if log is None:
        log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    sink = log.open("w", encoding="utf-8")
    process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    server = ModelServer(process, f"http://127.0.0.1:{port}/v1", alias, model, n_ctx, log, sink)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(
                f"llama_cpp.server exited ({process.returncode}):\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + "/models", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"llama_cpp.server did not answer within {wait_s:g} s:\n{server.log_tail()}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(prog="deploy/model_server.py", description=__doc__.split("\n")[0])
    p.add_argument(
        "--model",
        type=Path,
        default=os.environ.get("RAG_LLM_MODEL") or None,
        help="GGUF file (default: RAG_LLM_MODEL; `make serve-model` installs and passes one)",
    )
    p.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--n-ctx", type=int, default=int(os.environ.get("RAG_LLM_N_CTX", 4096)))
    p.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: its default)")
    args = p.parse_args(argv)
    model = args.model
    if model is None:
        print("error: no model: pass --model FILE.gguf, or run `make serve-model`", file=sys.stderr)
        return 2
    # SIGTERM (kill, a service manager) stops the server too, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"starting llama_cpp.server on {model} ...", file=sys.stderr)
    try:
        server = start_model_server(model, port=args.port, n_ctx=args.n_ctx, threads=args.threads)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with server:
        settings = server.env()
        print(f"model server ready at {server.url} (log: {server.log})", file=sys.stderr)
        if command:
            return subprocess.call(command, env={**os.environ, **settings})
        print("point the app at it with:", file=sys.stderr)
        for name, value in settings.items():
            print(f"export {name}={value}")
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
