"""Reading what llama.cpp says while it loads a model.

llama.cpp reports layer placement and load failures only in its log, so the
log is captured during loading (`llama_log_set`) and parsed: how many layers
went to a GPU, and the real reason a file failed to load.

>>> lines = [(1, "load_tensors: layer   0 assigned to device CUDA0, is_swa = 0\\n"),
...          (1, "load_tensors: layer   1 assigned to device CPU, is_swa = 0\\n")]
>>> report = parse_offload(lines, requested=1, n_layer=1, gpu_supported=True)
>>> report.offloaded, report.layers_total, report.source
(1, 2, 'llama.cpp log')
>>> load_error([(4, "llama_model_load: error loading model: tensor 'x' data is not within "
...                 "the file bounds, model is corrupted or incomplete\\n")])
"tensor 'x' data is not within the file bounds, model is corrupted or incomplete"
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.errors import ModelError
from llm.types import OffloadReport

LogLines = list[tuple[int, str]]

# The log callback is process-wide: one capture at a time.
_CAPTURE_LOCK = threading.Lock()
_ASSIGNED = re.compile(r"layer\s+(\d+) assigned to device ([^,\s]+)")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_LOAD_ERROR = re.compile(r"error loading model: (.+)")
_TRUNCATED = ("not within the file bounds", "failed to read", "unexpectedly reached end")


@contextmanager
def captured_llama_log(echo: bool = False) -> Iterator[LogLines]:
    """Collect llama.cpp's log lines (level, text) while the block runs.

    `echo` also writes them to stderr, as llama-cpp-python's verbose mode would.
    """
    import llama_cpp
    from llama_cpp import _logger

    lines: LogLines = []

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace")
        lines.append((level, message))
        if echo:
            sys.stderr.write(message)

    with _CAPTURE_LOCK:
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        try:
            yield lines
        finally:
            # Back to llama-cpp-python's own handler, which respects its `verbose` flag.
            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def parse_offload(
    lines: Sequence[tuple[int, str]], *, requested: int, n_layer: int, gpu_supported: bool
) -> OffloadReport:
    """Layers llama.cpp placed on a GPU, from its per-layer device lines.

    Falls back to its "offloaded N/M layers to GPU" summary, then to what the
    build supports, when the log does not say.
    """
    devices: dict[int, str] = {}
    summary = None
    for _level, text in lines:
        if match := _ASSIGNED.search(text):
            devices[int(match.group(1))] = match.group(2)
        elif match := _OFFLOADED.search(text):
            summary = int(match.group(1)), int(match.group(2))
    total = n_layer + 1  # llama.cpp counts the output layer as one more
    if devices:
        on_gpu = sum(not name.upper().startswith("CPU") for name in devices.values())
        return OffloadReport(requested, on_gpu, len(devices), gpu_supported, "llama.cpp log")
    if summary is not None:
        return OffloadReport(requested, summary[0], summary[1], gpu_supported, "llama.cpp log")
    wanted = total if requested < 0 else min(requested, total)
    return OffloadReport(
        requested, wanted if gpu_supported else 0, total, gpu_supported, "computed"
    )


def load_error(lines: Sequence[tuple[int, str]]) -> str | None:
    """llama.cpp's own reason for a failed load: a specific read error if it logged one."""
    generic = None
    for _level, text in lines:
        if any(marker in text for marker in _TRUNCATED):
            return _LOAD_ERROR.sub(r"\1", text.split(": ", 1)[-1]).strip()
        if match := _LOAD_ERROR.search(text):
            generic = match.group(1).strip()
    return generic


def looks_truncated(reason: str | None) -> bool:
    return bool(reason) and any(marker in reason for marker in _TRUNCATED)


def load_failure(path: Path, lines: Sequence[tuple[int, str]]) -> ModelError:
    """The error to raise when llama.cpp refused `path`, with its own reason."""
    reason = load_error(lines)
    if looks_truncated(reason):
        return ModelError(
            f"{path.name} is truncated or corrupted: {reason}",
            hint="download the model again; the file is incomplete",
        )
    return ModelError(
        f"llama.cpp could not load {path.name}: {reason or 'no reason given'}",
        hint="check that the model's architecture is supported by llama-cpp-python "
        "(upgrade it, or pick another .gguf); RAG_LLM_VERBOSE=1 shows llama.cpp's log",
    )
