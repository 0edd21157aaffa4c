"""`python -m llm.smoke MODEL`: can llama.cpp run this model on this machine? Checked once.

llama.cpp runs inside our process. When its build does not suit the CPU (seen here:
AMX kernels compiled for a VM whose CPU reports AMX), the first generated token
kills the process with a signal, and with it the app, with no message at all.
`make run` asks this first: a child process loads the model and generates two
tokens, and a crash becomes a message that says what to do. A pass is
remembered in a stamp beside the model, keyed by the model file and the
llama.cpp library, so later starts cost nothing.

Exit codes: 0 the model runs, 2 it does not (with why and the next step).

>>> describe_exit(-11)
'it was killed by SIGSEGV'
>>> describe_exit(3)
'it exited with status 3'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import ModelError

TIMEOUT_S = 600.0
# Two tokens: the first decode runs the prompt's matrix kernels, the second the single-token path.
_CHILD = """
import sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=256, n_batch=64, verbose=False)
llm.create_completion("The capital of France is", max_tokens=2, temperature=0.0)
"""


def stamp_path(model: Path) -> Path:
    return model.with_name(f".{model.name}.runs")


def fingerprint(model: Path) -> dict:
    """What a pass depends on: this model file and this build of llama.cpp."""
    st = model.stat()
    spec = importlib.util.find_spec("llama_cpp")
    libs = sorted(Path(spec.origin).parent.glob("lib/*.so*")) if spec and spec.origin else []
    return {
        "model": [str(model.resolve()), st.st_size, st.st_mtime_ns],
        "llama_cpp": [[lib.name, lib.stat().st_size, lib.stat().st_mtime_ns] for lib in libs],
    }


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"it was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"it was killed by signal {-code}"
    return f"it exited with status {code}"


def check_runs(
    model: Path, *, command: Sequence[str] | None = None, timeout: float = TIMEOUT_S
) -> bool:
    """Raise ModelError unless llama.cpp generates with `model`; True if it was checked now."""
    model = Path(model)
    if not model.is_file():
        raise ModelError(f"no model file at {model}", hint="run `make run` to install the default")
    stamp = stamp_path(model)
    want = fingerprint(model)
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) == want:
            return False
    except (OSError, ValueError):
        pass
    argv = list(command or [sys.executable, "-c", _CHILD, str(model)])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ModelError(
            f"llama.cpp did not generate two tokens with {model.name} in {timeout:.0f} s",
            hint="check that the machine is not out of memory, or choose the small model "
            "(`make run MODEL=small`)",
        ) from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:300]
        why = describe_exit(done.returncode) + (f" ({last})" if last else "")
        raise ModelError(
            f"llama.cpp could not run {model.name} on this machine: {why}",
            hint="rebuild llama.cpp for this CPU with `rm -rf .venv && make run`; "
            "meanwhile `make run MODEL=none` answers with quotes only",
        )
    stamp.write_text(json.dumps(want), encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m llm.smoke", description=__doc__.split("\n")[0])
    p.add_argument("model", type=Path, help="GGUF model file")
    args = p.parse_args(argv)
    try:
        if check_runs(args.model):
            print(f"llama.cpp runs {args.model.name} on this machine", file=sys.stderr)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
