"""Peak memory of rendering one page in the page view, measured in a fresh process.

    python -m tests.page_memory PDF PAGE ZOOM [PASSAGE]

prints one JSON object: the process's resident memory once warmed up (PDFium and
PIL loaded, a small page rendered: the "idle" server), its peak after the render,
the picture's size and the seconds it took. Used by the hostile page test and by
docs/limits.md.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def peak_rss_mb() -> float:
    """This address space's peak (VmHWM). Not ru_maxrss: Linux carries that over exec
    from the forked parent, so a 1.8 GB pytest process read as a 1.8 GB render."""
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    return int(kb) / 1e3


def main() -> None:
    from app.page_render import render_page
    from tests.pdf_factory import text_pdf

    path, page, zoom = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    passage = sys.argv[4] if len(sys.argv) > 4 else ""
    with tempfile.TemporaryDirectory() as tmp:  # warm up: what an idle server has loaded
        small = text_pdf(Path(tmp) / "small.pdf", ["A small page to warm up."])
        render_page(small, 1, "A small page", (1, 1))
    idle = rss_mb()
    started = time.monotonic()
    view = render_page(path, page, passage, (page, page), zoom)
    seconds = time.monotonic() - started
    peak = peak_rss_mb()
    result = {
        "idle_mb": round(idle, 1),
        "peak_mb": round(peak, 1),
        "above_idle_mb": round(peak - idle, 1),
        "width": view.width,
        "height": view.height,
        "marks": view.marks,
        "seconds": round(seconds, 2),
        "problem": view.problem,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
