"""Find the PDFs under the paths a user gives; account for every entry that is not one.

Each entry met is either found, or listed with its reason: a path that does not
exist, a broken or looping symbolic link, a folder or file that cannot be read,
something that is not a regular file (a named pipe, a device, a socket: never
opened). Symbolic links to files and folders are followed (loops are detected)
unless `follow_symlinks` is off; what is not followed is reported. A file name
that is not valid UTF-8 is kept, and shown with its odd bytes escaped.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "sub").mkdir()
>>> _ = (d / "sub" / "b.PDF").write_bytes(b"%PDF-"), (d / "a.txt").write_text("x")
>>> found = discover([d, d / "nope"])
>>> [f.source for f in found.files], [s.reason for s in found.skipped]
(['sub/b.PDF'], ['path not found'])
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.text import printable
from core.types import Skipped
from ingest.file_checks import not_regular_reason, unreadable_reason

NOT_FOLLOWED = "symbolic link, not followed (RAG_FOLLOW_SYMLINKS=false)"
OUTSIDE = "symbolic link to a place outside RAG_INGEST_ROOTS, not followed"


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute, as found (it may pass through symbolic links)
    source: str  # path relative to `root`, forward slashes, printable: the name users see
    root: Path  # the folder given by the user (for a file argument: its folder)
    size: int
    mtime_ns: int
    real_path: str = ""  # symbolic links resolved: what the document is (its identity)


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    skipped: tuple[Skipped, ...]  # PDFs (by name) that cannot be indexed, and bad arguments
    warnings: tuple[Skipped, ...]  # folders and links not searched, names almost .pdf
    other_files: int = 0  # regular files not named *.pdf: counted, not read


def _is_pdf_name(name: str) -> bool:
    return name.lower().endswith(".pdf")


def _almost_pdf_name(name: str) -> bool:
    """ "report.pdf " or "report.pdf." or "report.PDF\u200b": meant as a PDF, not read as one.

    >>> _almost_pdf_name("report.pdf "), _almost_pdf_name("notes.txt"), _almost_pdf_name("a.pdfx")
    (True, False, False)
    """
    trimmed = name.rstrip(" .\t\u00a0\u200b\u2060\ufeff").lower()
    return trimmed != name.lower() and trimmed.endswith(".pdf")


ALMOST_PDF = (
    "named like a PDF but not ending in .pdf (a space or a dot after it?): not read; rename it"
)


def discover(
    paths: Sequence[Path], *, follow_symlinks: bool = True, within: Sequence[Path] | None = None
) -> Discovery:
    """PDF files under `paths` (folders are searched recursively), sorted, without duplicates.

    `within`: symbolic links are followed only to places inside these folders.
    """
    walk = _Walk(follow_symlinks, [Path(os.path.realpath(p)) for p in within or ()])
    for given in paths:
        walk.given(Path(os.path.expanduser(str(given))).absolute(), printable(str(given)))
    files = sorted(walk.found.values(), key=lambda f: (str(f.root), f.source))
    return Discovery(tuple(files), tuple(walk.skipped), tuple(walk.warnings), walk.other_files)


@dataclass
class _Walk:
    follow: bool
    within: list[Path]
    found: dict[str, SourceFile] = field(default_factory=dict)  # real path -> file
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    other_files: int = 0

    def given(self, path: Path, label: str) -> None:
        try:
            st = path.stat()
        except OSError as err:
            self.skipped.append(Skipped(label, _missing_reason(path, err)))
            return
        if stat.S_ISDIR(st.st_mode):
            self.folder(path, path, {(st.st_dev, st.st_ino)}, self.skipped)
        elif stat.S_ISREG(st.st_mode):
            self.add(path, path.parent, st)
        else:
            self.skipped.append(Skipped(label, not_regular_reason(st.st_mode)))

    def folder(self, folder: Path, root: Path, above: set[tuple[int, int]], report: list) -> None:
        """Search `folder`; `above` holds the folders on the way down, to catch link loops.

        A folder that cannot be read is reported in `report`: `skipped` for one
        the user named, `warnings` for one met inside it.
        """
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            label = printable(_relative(folder, root) + "/")
            report.append(Skipped(label, f"folder not searched: {_folder_reason(err)}"))
            return
        for entry in entries:
            self.entry(Path(entry.path), entry, root, above)

    def entry(self, path: Path, entry: os.DirEntry, root: Path, above: set) -> None:
        is_pdf, label = _is_pdf_name(entry.name), printable(_relative(path, root))
        # Reasons for PDFs go to `skipped`; for other names (maybe folders) to `warnings`.
        report = self.skipped if is_pdf else self.warnings
        try:
            is_link = entry.is_symlink()
            if is_link and not self.follow:
                if is_pdf or os.path.isdir(path):
                    report.append(Skipped(label, NOT_FOLLOWED))
                return
            st = os.stat(path) if is_link else entry.stat(follow_symlinks=False)
        except OSError as err:
            if is_pdf or entry.is_symlink():
                report.append(Skipped(label, _missing_reason(path, err)))
            return
        if is_link and self.within and not _inside(os.path.realpath(path), self.within):
            if is_pdf or stat.S_ISDIR(st.st_mode):
                report.append(Skipped(label, OUTSIDE))
            return
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in above:
                reason = "symbolic link loop (it leads back to a folder above it), not followed"
                self.warnings.append(Skipped(label + "/", reason))
            else:
                self.folder(path, root, above | {key}, self.warnings)
        elif is_pdf and stat.S_ISREG(st.st_mode):
            self.add(path, root, st)
        elif is_pdf:
            self.skipped.append(Skipped(label, not_regular_reason(st.st_mode)))
        elif stat.S_ISREG(st.st_mode):
            self.other_files += 1
            if _almost_pdf_name(entry.name):
                self.warnings.append(Skipped(label, ALMOST_PDF))

    def add(self, path: Path, root: Path, st: os.stat_result) -> None:
        real = os.path.realpath(path)
        if real not in self.found:  # the same file reached twice (a link, or nested folders)
            source = printable(_relative(path, root))
            self.found[real] = SourceFile(path, source, root, st.st_size, st.st_mtime_ns, real)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else root.name


def _inside(real: str, roots: list[Path]) -> bool:
    return any(Path(real).is_relative_to(r) for r in roots)


def _missing_reason(path: Path, err: OSError) -> str:
    if err.errno == errno.ENOENT and path.is_symlink():
        return "broken symbolic link (its target does not exist)"
    if err.errno == errno.ENOENT:
        return "path not found"
    return unreadable_reason(err)


def _folder_reason(err: OSError) -> str:
    if err.errno in (errno.EACCES, errno.EPERM):
        return "cannot read folder (permission denied)"
    return f"cannot read folder ({err.strerror or err})"
