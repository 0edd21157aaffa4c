"""`--rebuild` beside the live index: where it resumes from, and how it is published.

The rebuild writes its generations and checkpoint manifests into `rebuild/`
(`index.layout.STAGING`) under the index's write lock; the live manifest is
untouched until `publish`, so readers search the old index meanwhile and a killed
rebuild costs nothing but its own folder. Publishing renames the rebuilt
generation into the index folder and swaps `manifest.json`: the one commit point.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.errors import IndexCorruptError, RagError
from core.types import ChunkingInfo, EmbeddingInfo
from index import chunks_db
from index.fsutil import atomic_write_bytes, fsync_dir
from index.layout import (
    STAGING,
    collect_garbage,
    highest_generation,
    is_own_dir,
    make_own_dir,
    remove_own,
)
from index.manifest import (
    CHUNKS,
    MANIFEST,
    REBUILD_HINT,
    ForeignManifestError,
    Manifest,
    check_compatible,
    generation_dir_name,
    read_manifest,
)
from index.reader import check_chunk_table, verify_files


def resume_point(
    index_dir: Path, *, embedding: EmbeddingInfo, chunking: ChunkingInfo
) -> tuple[Manifest | None, Manifest | None]:
    """(the live manifest the rebuild replaces, the checkpoint to go on from); None for none.

    A damaged live manifest is no obstacle (the rebuild repairs it); another program's
    is (its folder is not ours to replace). A checkpoint made with another model or
    chunking, or damaged, is discarded: the rebuild starts over.
    """
    try:
        replaced = read_manifest(index_dir)
    except ForeignManifestError:
        raise
    except RagError:
        replaced = None
    staging = index_dir / STAGING
    if staging.exists() and not is_own_dir(staging):
        raise IndexCorruptError(
            f"{staging} is in the index folder but was not made by this program",
            hint="move it out of the index folder; --rebuild builds the new index there",
        )
    try:
        staged = read_manifest(staging)
        check_compatible(staged, embedding=embedding, chunking=chunking)
        check_generation(staging / staged.generation_dir, staged, checksums=True)
        return replaced, staged
    except RagError:
        remove_own(staging)
    make_own_dir(staging)
    return replaced, None


def publish(index_dir: Path, staged: Manifest, replaced: Manifest | None) -> Manifest | None:
    """Make the rebuild's last checkpoint the live index; None if it holds no document
    (then the live index stays as it was)."""
    staging = index_dir / STAGING
    if staged.generation == 0 or not staged.documents:
        remove_own(staging)
        return None
    old = replaced.generation if replaced else 0
    target = max(old, highest_generation(index_dir)) + 1
    final = index_dir / generation_dir_name(target)
    (staging / staged.generation_dir).rename(final)
    fsync_dir(index_dir)
    published = staged.evolve(generation=target, updated_at=time.time())
    # The commit point: before this rename readers see the old index, after it the new.
    atomic_write_bytes(index_dir / MANIFEST, published.to_json().encode("utf-8"))
    remove_own(staging)
    collect_garbage(index_dir, {final.name, generation_dir_name(old)})
    return published


def drop_dead(index_dir: Path) -> None:
    """Remove a rebuild folder that cannot be resumed (killed before its first checkpoint,
    or after it was published); one with a checkpoint is left for the next --rebuild."""
    staging = index_dir / STAGING
    if not is_own_dir(staging):
        return
    try:
        staged = read_manifest(staging)
        if (staging / staged.generation_dir).is_dir():
            return
    except RagError:
        pass
    remove_own(staging)


def check_generation(gen: Path, manifest: Manifest, *, checksums: bool) -> None:
    """The generation a manifest names is there, and its chunk table is what it lists."""
    if manifest.generation == 0:
        return
    if not gen.is_dir():
        raise IndexCorruptError(
            f"the index at {gen.parent} names {gen.name}, which is missing", hint=REBUILD_HINT
        )
    if checksums:
        verify_files(gen, manifest)
    con = chunks_db.open_readonly(gen / CHUNKS)
    try:
        check_chunk_table(manifest, con, gen)
    finally:
        con.close()
