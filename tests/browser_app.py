"""Run the real app (`streamlit run`) on a free localhost port and drive it with headless Chromium.

Used by the browser end-to-end test and by `docs/make_screenshot.py`. Chromium
is Debian's `chromium` package, driven by the `playwright` Python package
through `executable_path` (Playwright's own browser download is never used).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "main.py"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm, which crashes tabs
]


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (`make test` installs it where it can)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing_browser_reason() -> str:
    """Why the browser test cannot run here, or "" when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if chromium_path() is None:
        return "Chromium is not installed (Debian: apt-get install chromium; `make test` tries)"
    return ""


def browser_marks(timeout_s: int) -> list:
    """A browser test module's marks: slow, browser, its time limit, and a skip that says
    why where Chromium or Playwright is missing."""
    import pytest

    reason = missing_browser_reason()
    return [
        pytest.mark.slow,
        pytest.mark.browser,
        pytest.mark.skipif(bool(reason), reason=reason),
        pytest.mark.timeout(timeout_s),
    ]


# The handbook that several browser tests index: two pages, so a citation names its page.
HANDBOOK_PAGES = [
    "Office hours are from nine to five on weekdays. The office is closed on holidays.",
    "The warranty lasts two years from the date of delivery. Defects are repaired for free.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class RunningApp:
    url: str
    process: subprocess.Popen  # the leader of its own process group

    def kill(self) -> None:
        """SIGKILL the app and everything it started, as a crash or an OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def app_process(
    env: Mapping[str, str], log_path: Path, timeout: float = 60.0
) -> Iterator[RunningApp]:
    """`streamlit run app/main.py` on 127.0.0.1, healthy; stopped (with its children) after."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with everything it started
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path, timeout)
        yield RunningApp(url, process)
    finally:
        _stop(process)


def indexed_app_env(tmp_path: Path, docs: Path, factory: str, **extra: str) -> dict[str, str]:
    """Index `docs` (fake embedder) under `tmp_path`; the environment of an app on that index.

    `factory` names the app's parts in `tests.app_fakes`; `extra` adds RAG_* settings.
    """
    from core.settings import Settings
    from tests.fakes import FakeEmbedder
    from wiring.root import ingest_documents

    index = tmp_path / "index"
    ingest_documents([docs], Settings(index_dir=index), embedder=FakeEmbedder(), parser_processes=0)
    return {
        "RAG_INDEX_DIR": str(index),
        "RAG_DOCUMENTS_DIR": str(tmp_path / "uploads"),
        "RAG_MODELS_DIR": str(tmp_path / "models"),
        "RAG_CONVERSATIONS_DIR": str(tmp_path / "conversations"),
        "RAG_APP_FACTORY": f"tests.app_fakes:{factory}",
        **extra,
    }


@contextmanager
def running_app(env: Mapping[str, str], log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """`streamlit run app/main.py` on 127.0.0.1; yields its URL; stops it (and its children)."""
    with app_process(env, log_path, timeout) as app:
        yield app.url


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        # http.client, not urllib: no global opener or proxy setting can reroute it.
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", "/_stcore/health")
            response = conn.getresponse()
            body = response.read().strip()
            if body == b"ok":
                return
            last = f"HTTP {response.status}: {body[:200]!r}"
            time.sleep(0.3)
        except OSError as exc:
            last = repr(exc)
            time.sleep(0.3)
        finally:
            conn.close()
    raise TimeoutError(
        f"streamlit not healthy in {timeout} s ({last}):\n{log_path.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def chromium_page(profile_dir: Path, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A page of a headless Chromium with a new, empty profile; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),  # Playwright passes it as --user-data-dir
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def ask_in_browser(page: Any, question: str, timeout_ms: int = 90_000) -> None:
    """Type a question into the chat box and wait until it is answered, with its sources.

    Only a finished answer's sources are headed "Sources" alone; while it is written,
    they are headed "Sources found; ...".
    """
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=timeout_ms)
    box.fill(question)
    box.press("Enter")
    page.get_by_text("Sources", exact=True).first.wait_for(timeout=timeout_ms)


RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'


def wait_until_idle(page: Any, timeout_ms: int = 90_000, quiet_ms: int = 1000) -> None:
    """Until the page script has not been running for `quiet_ms` (elements of a running
    script are drawn faded, so a screenshot taken then has pale colours)."""
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(RUNNING).count():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_ms / 1000:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page script was still running after {timeout_ms} ms")


def open_selectbox(page: Any, scope: Any, label: str, timeout_ms: int = 90_000) -> Any:
    """Open the selectbox labelled `label` inside `scope`; return its options' locator.

    A click that lands while the page script reruns is lost (the dropdown is redrawn
    closed), so the page is let settle first and the click is retried until it opens.
    """
    options = page.get_by_role("option")
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        wait_until_idle(page, timeout_ms)
        box = scope.get_by_test_id("stSelectbox").filter(has_text=label)
        box.get_by_role("combobox").click()
        try:
            options.first.wait_for(timeout=5_000)
            return options
        except Exception:  # Playwright's TimeoutError: the click was lost to a rerun
            if time.monotonic() > deadline:
                raise
            page.keyboard.press("Escape")
