"""What in an index directory is the program's own, and the only things it ever deletes.

An index directory holds `manifest.json`, the `.lock` file, generation folders
`gen-NNNNNN/` (and `gen-NNNNNN.tmp/` while one is written), and `rebuild/` while
`--rebuild` builds the next index beside the live one. Every folder the writer
makes gets a marker file (`MARK`); garbage collection deletes only marked folders
(and, for indexes written before the marker, generation folders holding nothing
but index files). A folder of the user's that happens to be called `gen-ai-papers`
or `gen-000003` is never touched, and a non-empty folder that is not an index is
refused as an index directory (`check_index_dir`).

>>> is_generation_name("gen-000012"), is_generation_name("gen-000012.tmp")
(True, True)
>>> is_generation_name("gen-ai-papers"), generation_number("gen-000012.tmp")
(False, 12)
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from core.errors import ConfigError

MANIFEST = "manifest.json"
LOCK = ".lock"
MARK = ".pdf-chat-index"  # inside every folder the writer makes: "this is mine to delete"
STAGING = "rebuild"  # where --rebuild builds the next index, beside the live one
_GENERATION = re.compile(r"gen-(\d{6,})(\.tmp)?")
_TMP_MANIFEST = re.compile(r"\.manifest\.json\.\d+\.tmp")
# What a generation folder of an index written before the marker holds.
_LEGACY_FILES = {
    "vectors.faiss",
    "chunks.sqlite",
    "chunks.sqlite-journal",
    "chunks.sqlite-wal",
    "chunks.sqlite-shm",
}


def is_generation_name(name: str) -> bool:
    return _GENERATION.fullmatch(name) is not None


def generation_number(name: str) -> int:
    match = _GENERATION.fullmatch(name)
    return int(match.group(1)) if match else -1


def make_own_dir(path: Path) -> None:
    """Create a folder the writer owns (and may delete later)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / MARK).touch()


def is_own_dir(path: Path) -> bool:
    """A folder this program made: marked, or an unmarked generation of an older index."""
    if not path.is_dir() or path.is_symlink():
        return False
    if (path / MARK).is_file():
        return True
    if not is_generation_name(path.name):
        return False
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return False
    return names <= _LEGACY_FILES


def is_own_entry(path: Path) -> bool:
    """Whether `path`, an entry of an index directory, is one the program writes there."""
    name = path.name
    if name in (MANIFEST, LOCK, MARK) or _TMP_MANIFEST.fullmatch(name):
        return True
    if is_generation_name(name) or name == STAGING:
        return is_own_dir(path)
    return False


def check_index_dir(index_dir: Path) -> None:
    """Refuse a folder that is not an index and not empty: the writer would mix into it.

    A folder with a `manifest.json` is taken as an index (its contents are checked
    when the manifest is read); without one, everything in it must be the writer's own
    (what a first ingest killed before its first commit leaves).
    """
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise ConfigError(
            f"the index directory {index_dir} is a file, not a folder",
            hint="give --index / RAG_INDEX_DIR a new or empty folder",
        )
    if (index_dir / MANIFEST).exists():
        return
    foreign = sorted(p.name for p in index_dir.iterdir() if not is_own_entry(p))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if foreign[3:] else "")
        raise ConfigError(
            f"{index_dir} is not empty and is not an index (it holds {shown}, and no "
            f"{MANIFEST}); an index is written only into a new or empty folder",
            hint=f"give --index / RAG_INDEX_DIR a new or empty folder, e.g. {index_dir / 'index'}",
        )


def own_generations(root: Path) -> list[Path]:
    """The generation folders in `root` that this program wrote (finished or not)."""
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if is_generation_name(p.name) and is_own_dir(p)]


def highest_generation(root: Path) -> int:
    """The highest number of any generation-like name in `root`, the user's own folders
    included (0 if none): a new generation goes above it, so it never meets one."""
    if not root.is_dir():
        return 0
    names = (p.name for p in root.iterdir())
    return max((generation_number(n) for n in names if is_generation_name(n)), default=0)


def remove_own(path: Path) -> None:
    """Delete a folder the writer made; anything else is left alone."""
    if is_own_dir(path):
        shutil.rmtree(path, ignore_errors=True)


def collect_garbage(root: Path, keep: Iterable[str], working: Path | None = None) -> None:
    """Delete this program's generation folders in `root` except `keep` and `working`."""
    keep = set(keep)
    for entry in own_generations(root):
        if entry.name not in keep and entry != working:
            shutil.rmtree(entry, ignore_errors=True)
