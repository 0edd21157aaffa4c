"""Offline by proof: the product works in a process with no network at all, and
nothing it configures reports usage anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.model
def test_ingest_search_and_answers_with_every_socket_refused(tmp_path, seeds_dir):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paper.pdf").write_bytes((seeds_dir / "003_bbafcba521c905a1.pdf").read_bytes())
    out = subprocess.run(
        [sys.executable, "-m", "tests.offline_flow", str(docs), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["added"] == 1
    assert seen["passages"] and set(seen["passages"]) == {"paper.pdf"}
    assert seen["quoted_mode"] == "extractive" and seen["quoted_cites"] >= 1
    assert seen["quoted_chars"] > 0
    assert seen["generated_mode"] == "generative" and seen["generated_chars"] > 0
    assert seen["env"] == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def test_streamlit_is_private_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] in ("localhost", "127.0.0.1")


def test_no_code_path_downloads_a_model():
    """No hub download helpers and no remote model names anywhere in product code."""
    offenders = []
    for package in ("core", "ingest", "retrieval", "llm", "app"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for needle in ("hf_hub_download", "snapshot_download", 'from_pretrained("', "urlopen"):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, offenders
