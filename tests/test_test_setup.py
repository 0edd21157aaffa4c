"""The test run itself: one doctest mechanism that reaches every package, slow tests marked."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
# Benchmarks are scripts run by hand (docs/measurements.md), not code the product or CI runs.
NOT_COLLECTED = {"bench"}


def test_every_package_is_in_testpaths_so_its_docstring_examples_run():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_COLLECTED
    assert packages <= set(PYTEST["testpaths"]), "add the new package to testpaths"
    assert "--doctest-modules" in PYTEST["addopts"]


def test_no_test_file_runs_docstring_examples_a_second_way():
    runners = [
        p.name
        for p in (ROOT / "tests").rglob("test_*.py")
        if "doctest." + "testmod" in p.read_text(encoding="utf-8")
    ]
    assert runners == []


def test_plain_pytest_leaves_out_exactly_the_slow_tests_and_make_test_runs_them():
    addopts = PYTEST["addopts"]
    assert addopts[addopts.index("-m") + 1] == "not slow"
    markers = {m.split(":")[0] for m in PYTEST["markers"]}
    assert {"slow", "model", "browser", "kill"} <= markers
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '-m pytest -m "slow or not slow"' in makefile


def test_a_marker_declared_also_slow_makes_its_tests_slow_without_the_slow_marker():
    from tests.conftest import implied_slow_markers

    implied = implied_slow_markers(PYTEST["markers"])
    assert {"model", "browser", "kill", "hostile", "subprocess"} <= implied
    assert "slow" not in implied
