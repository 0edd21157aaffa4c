"""What the app does, without Streamlit: ask, add documents, list and remove them, status.

One `AppService` per process (the UI keeps it in `st.cache_resource`), shared
by every browser session. It loads the embedder and the model once, on first
use, and opens one `Retriever` per index generation: after an ingest or a
removal the next question searches the new generation, while questions
already running finish on the old one (it is closed when nobody holds it).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.components import Components
from app.conversation import Conversation
from app.ingest_job import IngestJob
from app.model_list import InstalledModel, installed_models
from app.page_render import MIN_COVERAGE, DocumentFile, PageRenderer, PageView, check_file
from app.uploads import Upload, check_within_roots, forget_unindexed, save_uploads
from core.errors import IndexNotFoundError, ModelError, RagError
from core.settings import Settings
from core.types import IngestReport, Passage
from embed.embedder import Embedder
from index.manifest import MANIFEST, DocumentRecord, Manifest, read_manifest
from ingest.pipeline import ProgressCallback
from ingest.uploads import SavedUpload
from llm.protocols import Generator, Retriever
from wiring.params import chat_options

# The records the pages read from `AppService` (pages import them from here, not from
# the layers below).
__all__ = [
    "AddResult",
    "AppService",
    "DocumentRecord",
    "Manifest",
    "ModelStatus",
    "Upload",
    "check_within_roots",
]


SERVER_RETRY_S = 5.0  # a model server that could not be reached is asked again after this


@dataclass(frozen=True)
class AddResult:
    """An ingest from the page. `rejected`: uploads refused before ingest, one message each."""

    report: IngestReport | None
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelStatus:
    """The loaded model as llama.cpp reported it, or why answers are quoted instead."""

    loaded: bool
    file: str = ""
    n_ctx: int = 0
    layers_on_gpu: int = 0
    layers_total: int = 0
    warnings: tuple[str, ...] = ()
    problem: RagError | None = None  # a configured model that could not be used
    served_by: str = ""  # the model server's URL (RAG_LLM_URL); "" for a model in this process
    token_counting: str = ""  # how a served model's prompt tokens are counted


class LiveRetriever(Retriever, Protocol):
    """What the app needs of a retriever beyond `search` (`retrieval.search.Retriever`)."""

    @property
    def generation(self) -> int:
        """The index generation it searches."""
        ...

    def page_text(self, source: str, page: int) -> str | None:
        """A page's whole text as indexed in that generation."""
        ...


class AppService:
    def __init__(self, settings: Settings, components: Components) -> None:
        self.settings = settings
        self._components = components
        self._lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._generator: Generator | None = None
        self._generator_tried = False
        self._generator_tried_at = 0.0
        self._model_problem: RagError | None = None
        self._manifest_key: tuple[int, int, int] | None = None
        self._manifest: Manifest | None = None
        self._retriever: LiveRetriever | None = None
        self._renderer = PageRenderer()  # rendered pages, shared by every browser session
        self._ingest_job: IngestJob | None = None
        self._model_version = 0  # +1 at every switch: conversations are rebuilt on the new one

    # -- heavy parts, loaded once ---------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._components.load_embedder(self.settings)
            return self._embedder

    def generator(self) -> Generator | None:
        """The shared model, or None (no .gguf found, or it failed: see `model_status`)."""
        with self._lock:
            if not self._generator_tried or self._retry_server():
                self._generator_tried = True
                self._generator_tried_at = time.monotonic()
                try:
                    self._generator = self._components.load_generator(self.settings)
                except ModelError as exc:
                    self._model_problem = exc
                else:
                    if self._model_problem is not None:  # the server is up now
                        self._model_problem = None
                        self._model_version += 1
            return self._generator

    def _retry_server(self) -> bool:
        """A model server that failed is asked again a little later: it may be up by then."""
        return (
            self._generator is None
            and self._model_problem is not None
            and self.settings.llm_server.url is not None
            and time.monotonic() - self._generator_tried_at >= SERVER_RETRY_S
        )

    @property
    def model_version(self) -> int:
        return self._model_version

    def installed_models(self) -> list[InstalledModel]:
        return installed_models(self.settings.paths.models_dir)

    def use_model(self, path: Path) -> None:
        """Answer with this installed model from now on, in every browser session.

        It is loaded once, here; questions already running finish on the old one. A model
        that fails to load raises `ModelError` and the current one stays.
        """
        path = Path(path)
        if path not in {m.path for m in self.installed_models()}:
            raise RagError(
                f"{path.name} is not a model in the models folder",
                hint=f"put the .gguf file in {self.settings.paths.models_dir.name}/ first",
            )
        settings = self.settings.replace(llm_model=path)
        generator = self._components.load_generator(settings)  # seconds: other pages go on
        with self._lock:
            self._generator = generator
            self._generator_tried = True
            self._model_problem = None
            self._model_version += 1

    def model_status(self) -> ModelStatus:
        generator = self.generator()
        if generator is None:
            return ModelStatus(loaded=False, problem=self._model_problem)
        info = generator.info
        warnings = list(info.warnings)  # the offload warning is among them already
        return ModelStatus(
            loaded=True,
            file=info.name if info.served_by else info.path.name,
            n_ctx=info.n_ctx,
            layers_on_gpu=info.offload.offloaded,
            layers_total=info.offload.layers_total,
            warnings=tuple(warnings),
            served_by=info.served_by,
            token_counting=info.token_counting,
        )

    # -- the index --------------------------------------------------------------------------

    def manifest(self) -> Manifest | None:
        """The live manifest (re-read only when the file changed), None before the first ingest."""
        path = self.settings.paths.index_dir / MANIFEST
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a commit replaces the file
        with self._lock:
            if key != self._manifest_key:
                try:
                    self._manifest = read_manifest(self.settings.paths.index_dir)
                except IndexNotFoundError:
                    return None
                self._manifest_key = key
            return self._manifest

    def retriever(self) -> LiveRetriever:
        """The retriever of the live generation; a new one after every ingest or removal."""
        from wiring.root import open_retriever

        manifest = self.manifest()
        if manifest is None:
            read_manifest(
                self.settings.paths.index_dir
            )  # raises IndexNotFoundError, with next step
        with self._lock:
            current = self._retriever
            if current is None or current.generation != manifest.generation:
                # The old one is not closed here: a question may still be searching it.
                current = open_retriever(self.settings, self.embedder)
                self._retriever = current
            return current

    def page_text(self, source: str, page: int) -> str | None:
        """A page as indexed now; None if the document is gone or was changed since."""
        return self.retriever().page_text(source, page)

    # -- the cited page ---------------------------------------------------------------------

    def document_file(self, source: str) -> DocumentFile | None:
        """Where `source`'s PDF is and how it was when indexed; None if it is not indexed."""
        manifest = self.manifest()
        record = manifest.documents.get(source) if manifest is not None else None
        if record is None:
            return None
        return DocumentFile(Path(record.real_path or record.path), record.size, record.mtime_ns)

    def page_view(self, passage: Passage, page: int, zoom: float = 1.0) -> PageView:
        """Page `page` of the passage's PDF with the passage marked, or why it cannot be shown."""
        doc = self.document_file(passage.source)
        problem = check_file(doc, passage.source)
        if problem:
            return PageView(problem=problem)
        view = self._renderer.page(
            doc, page, passage.text, (passage.page_start, passage.page_end), zoom
        )
        if view.problem or view.coverage >= MIN_COVERAGE or passage.ocr:
            return view
        return PageView(
            problem=f"This passage is no longer on page {page} of {passage.source}: the "
            "document was changed and indexed again since this answer. Ask again to cite "
            "the current version."
        )

    def pdf_bytes(self, source: str) -> bytes:
        """The indexed PDF file itself (for its download button, read only when clicked)."""
        doc = self.document_file(source)
        problem = check_file(doc, source)
        if problem:
            raise RagError(problem)
        return doc.path.read_bytes()

    def new_conversation(self) -> Conversation:
        generator = self.generator()
        try:
            return Conversation(
                _LiveIndex(self), generator, chat_options(self.settings), self.embedder
            )
        except ModelError as exc:  # e.g. a context window too small for the answer length
            with self._lock:
                self._model_problem = exc
                self._generator = None
            return Conversation(_LiveIndex(self), None, chat_options(self.settings), self.embedder)

    # -- adding and removing documents ------------------------------------------------------

    def ingest(
        self, paths: Sequence[Path], on_progress: ProgressCallback | None = None
    ) -> AddResult:
        """Index PDF files and folders incrementally, as `python -m ingest` does.

        Only under the configured roots (`RAG_INGEST_ROOTS`): whoever reaches the
        page must not be able to index, and then read, any file of this machine.
        """
        paths = [Path(os.path.expanduser(str(p))) for p in paths]
        check_within_roots(paths, self.settings)
        return AddResult(self._ingest(paths, on_progress))

    def _ingest(self, paths: Sequence[Path], on_progress: ProgressCallback | None) -> IngestReport:
        from wiring.root import ingest_documents

        return ingest_documents(
            paths,
            self.settings,
            embedder=self.embedder,
            on_progress=on_progress,
            parser_processes=self._components.parser_processes,
            within=self.settings.ingest_root_paths(),
        )

    def start_ingest(self, label: str, run: Callable[[ProgressCallback], AddResult]) -> IngestJob:
        """Run an ingest in the background (see `app.ingest_job`); one at a time."""
        with self._lock:
            current = self._ingest_job
            if current is not None and not current.finished:
                raise RagError(
                    f"Documents are being added already ({current.label})",
                    hint="wait for it to finish, or stop it, then add these",
                )
            self._ingest_job = IngestJob(label, run).start()
            return self._ingest_job

    def ingest_job(self) -> IngestJob | None:
        """The running ingest, or the last one (its result stays readable)."""
        return self._ingest_job

    def save_uploads(self, uploads: Sequence[Upload]) -> tuple[list[SavedUpload], list[str]]:
        """Save uploaded PDFs into `documents_dir`: (saved, one message per rejected file)."""
        return save_uploads(uploads, self.settings)

    def ingest_saved(
        self,
        saved: Sequence[SavedUpload],
        rejected: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> AddResult:
        """Index uploads `save_uploads` kept; the new ones the ingest skipped are deleted."""
        if not saved:
            return AddResult(None, tuple(rejected))
        # The documents folder is where uploads go, whatever RAG_INGEST_ROOTS says.
        report = self._ingest([s.path for s in saved], on_progress)
        # Not when stopped: the uploads not read yet stay, for the next "Add folder".
        forget_unindexed([s.path for s in saved if s.created], self.manifest())
        return AddResult(report, tuple(rejected))

    def add_uploads(
        self, uploads: Sequence[Upload], on_progress: ProgressCallback | None = None
    ) -> AddResult:
        """Save uploaded PDFs into `documents_dir`, then index the ones that were accepted."""
        saved, rejected = self.save_uploads(uploads)
        return self.ingest_saved(saved, rejected, on_progress)

    def remove(self, sources: Sequence[str]) -> list[str]:
        """Remove documents from the index (their files stay); returns those removed."""
        from ingest.manage import remove_documents

        return remove_documents(
            self.settings.paths.index_dir,
            sources,
            lock_timeout=self.settings.ingest.lock_timeout_seconds,
        )


class _LiveIndex:
    """The `Retriever` protocol over whatever generation is live at each question."""

    def __init__(self, service: AppService) -> None:
        self._service = service

    def search(self, query: str, k: int = 5, files: Sequence[str] | None = None) -> list[Passage]:
        return self._service.retriever().search(query, k, files)
