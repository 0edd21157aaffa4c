"""Make `docs/screenshot.png`: the app answering a question about `../shared/corpus/seeds`.

    .venv/bin/python docs/make_screenshot.py [PDF_FOLDER] [QUESTION]

Indexes the folder with the real embedder into a temporary directory, runs the
app as `make run` does (no model file: answers quote passages), asks the
question in headless Chromium and saves a small PNG of the answer and its
cited page, highlighted. Needs Debian's
`chromium` and the `playwright` package (see `make test`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402  (Pillow comes with Streamlit)

from core.settings import Settings  # noqa: E402
from tests.browser_app import (  # noqa: E402
    ask_in_browser,
    chromium_page,
    missing_browser_reason,
    running_app,
    wait_until_idle,
)
from wiring.root import ingest_documents  # noqa: E402

DEFAULT_FOLDER = ROOT.parent / "shared" / "corpus" / "seeds"
DEFAULT_QUESTION = "How do diffusion models generate images?"
OUTPUT = ROOT / "docs" / "screenshot.png"
COLORS = 96  # a palette PNG: about a third of the size, no visible loss for a UI


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DEFAULT_FOLDER
    question = argv[1] if len(argv) > 1 else DEFAULT_QUESTION
    if reason := missing_browser_reason():
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {
            "RAG_INDEX_DIR": str(tmp / "index"),
            "RAG_CONVERSATIONS_DIR": str(tmp / "conversations"),
        }
        report = ingest_documents([folder], Settings(index_dir=tmp / "index"))
        print(f"indexed {len(report.added)} PDFs, {report.pages} pages", file=sys.stderr)
        with (
            running_app(env, tmp / "streamlit.log", timeout=120) as url,
            chromium_page(tmp / "profile", width=1280, height=1000) as page,
        ):
            page.goto(url)
            ask_in_browser(page, question, timeout_ms=90_000)
            wait_until_idle(page, 90_000)  # a running page draws its elements faded
            # The chat scrolls to its end; show the answer at the top, its cited page below.
            answer = page.get_by_test_id("stChatMessage").nth(1)
            answer.evaluate("element => element.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(tmp / "raw.png"))
        image = Image.open(tmp / "raw.png").convert("RGB")
        image.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT).save(OUTPUT, optimize=True)
    print(f"saved {OUTPUT} ({OUTPUT.stat().st_size // 1024} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
