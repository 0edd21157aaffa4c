"""Uploads from the page or the API: saved into the documents folder, checked against the roots.

The app and the API may read only the folders it is given (`RAG_INGEST_ROOTS`); uploads go
into `documents_dir`, each checked as a PDF and against the size limit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.errors import PdfError, RagError
from core.settings import Settings
from index.manifest import Manifest
from ingest.save_upload import SavedUpload

BYTES_PER_MB = 1_000_000  # as `store_upload` prints its limit


@dataclass(frozen=True)
class Upload:
    """A file from the browser: its bytes, or a readable stream (read in blocks, never whole)."""

    name: str
    data: bytes | BinaryIO


def save_uploads(
    uploads: Sequence[Upload], settings: Settings
) -> tuple[list[SavedUpload], list[str]]:
    """Save uploaded PDFs into `documents_dir`: (saved, one message per rejected file)."""
    from ingest.save_upload import store_upload

    limit = settings.app.upload_max_files
    if len(uploads) > limit:
        raise RagError(
            f"{len(uploads)} files in one upload; at most {limit} are accepted",
            hint="upload them in smaller batches, or enter their folder's path instead",
        )
    saved = []
    rejected: list[str] = []
    for n, upload in enumerate(uploads):
        try:
            saved.append(
                store_upload(
                    settings.paths.documents_dir,
                    upload.name,
                    upload.data,
                    settings.app.upload_max_mb * BYTES_PER_MB,
                )
            )
        except PdfError as exc:  # this file: the others go on
            rejected.append(str(exc))
        except RagError as exc:  # the folder (a full disk, no permission): the others too
            rejected.append(str(exc))
            if uploads[n + 1 :]:
                rejected.append(f"{len(uploads) - n - 1} more uploaded files were not saved")
            break
    return saved, rejected


def forget_unindexed(created: Sequence[Path], manifest: Manifest | None) -> None:
    """Delete uploads that were saved but not indexed (corrupt, scanned, ...): junk
    uploads must not pile up on the server's disk."""
    indexed = {d.real_path for d in manifest.documents.values()} if manifest else set()
    for path in created:
        if os.path.realpath(path) not in indexed:
            path.unlink(missing_ok=True)


def check_within_roots(paths: Sequence[Path], settings: Settings) -> None:
    """Refuse any path that is not inside one of the folders the app may read."""
    roots = settings.ingest_root_paths()
    for path in paths:
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(root) for root in roots):
            raise RagError(
                f"{path.name or path} is outside the folders this app may read",
                hint="move it into the documents folder or your home folder, or add its "
                "folder to RAG_INGEST_ROOTS (folders separated by ':') and restart the app",
            )
