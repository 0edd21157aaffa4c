"""What the app and the API both do, without Streamlit or HTTP: ask, add, list, remove, status.

One `SharedService` per process and settings, shared by every browser session (the
app's `AppService` extends it with the page's own needs) or by every API client. It
loads the embedder and the model once, on first use, and opens one `Retriever` per
index generation: after an ingest or a removal the next question searches the new
generation, while questions already running finish on the old one (it is closed when
nobody holds it). The model is reached through the process's `ModelQueue`, so
questions take turns on it (`service.model_queue`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelError, RagError
from core.settings import Settings
from core.types import IngestReport, Passage
from embed.protocols import Embedder
from index import IndexStore
from index.manifest import Manifest
from ingest.pipeline import ProgressCallback
from ingest.save_upload import SavedUpload
from llm.chat import ChatOptions, ChatSession
from llm.protocols import Generator, Retriever
from service.components import Components
from service.ingest_job import IngestJob
from service.model_queue import ModelQueue, process_queue
from service.pg_state import SharedIngests
from service.protocols import LiveRetriever
from service.queued_generator import QueuedGenerator
from service.uploads import Upload, check_within_roots, forget_unindexed, save_uploads
from wiring import params

LOG = logging.getLogger("service")


def serves_concurrently(generator: object) -> bool:
    """A model server schedules its own requests: it takes no place in this process's line."""
    return bool(getattr(generator, "serves_concurrently", False))


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


class SharedService:
    """`lane`: which line of the model queue this edge's questions wait in ("app", "api")."""

    def __init__(
        self,
        settings: Settings,
        components: Components,
        *,
        lane: str = "app",
        queue: ModelQueue | None = None,
    ) -> None:
        self.settings = settings
        self.lane = lane
        self.queue = queue or process_queue(machine=settings.api.model_turns == "machine")
        self._components = components
        self._lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._generator: Generator | None = None
        self._generator_tried = False
        self._generator_tried_at = 0.0
        self._model_problem: RagError | None = None
        self._store: IndexStore | None = None
        self._shared_ingests: SharedIngests | None = None
        self._warming: threading.Thread | None = None
        self._retriever: LiveRetriever | None = None
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
                    self._generator = self._queued(self._components.load_generator(self.settings))
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

    def warm_up(self) -> threading.Thread:
        """Load the embedding model's weights and open the index in the background, once.

        They load on first use, which was the first question: its sources came tens of
        seconds late (25 s in the browser at load 25, docs/chat.md). Called when a page
        is first shown; a question asked meanwhile waits for the same load, no longer.
        """
        with self._lock:
            if self._warming is None:
                self._warming = threading.Thread(target=self._warm, name="warm-up", daemon=True)
                self._warming.start()
            return self._warming

    def _warm(self) -> None:
        try:
            self.embedder.embed(["warm up"])
            if self.manifest() is not None:
                self.retriever()
        except Exception:  # the first question meets the same problem and shows it
            LOG.warning("warming up failed", exc_info=True)

    def _queued(self, generator: Generator | None) -> Generator | None:
        # A backend that serves many requests at once itself (a model server) needs no turns.
        if generator is None or serves_concurrently(generator):
            return generator
        return QueuedGenerator(generator, self.queue, self.lane)

    @property
    def model_version(self) -> int:
        return self._model_version

    @property
    def model_problem(self) -> RagError | None:
        """Why a configured model is not used (None: it is, or none is configured)."""
        self.generator()
        return self._model_problem

    def switch_model(self, settings: Settings) -> None:
        """Answer with the model these settings name from now on (loaded here, seconds).

        Questions already running finish on the old one; a model that fails to load
        raises `ModelError` and the current one stays.
        """
        generator = self._queued(self._components.load_generator(settings))
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
        """The live manifest (re-read only when it changed), None before the first ingest."""
        return self.store.committed()

    @property
    def store(self) -> IndexStore:
        """Where the index lives: the local directory or PostgreSQL (`wiring.stores`)."""
        with self._lock:
            if self._store is None:
                from wiring.stores import open_store

                self._store = open_store(self.settings)
            return self._store

    def retriever(self) -> LiveRetriever:
        """The retriever of the live generation; a new one after every ingest or removal."""
        from wiring.root import open_retriever

        manifest = self.manifest()
        if manifest is None:
            self.store.open_reader()  # raises IndexNotFoundError, with the next step
        with self._lock:
            current = self._retriever
            if current is None or current.generation != manifest.generation:
                # The old one is not closed here: a question may still be searching it.
                current = open_retriever(self.settings, self.embedder, self.store)
                self._retriever = current
            return current

    def page_text(self, source: str, page: int) -> str | None:
        """A page as indexed now; None if the document is gone or was changed since."""
        return self.retriever().page_text(source, page)

    def live_retriever(self) -> Retriever:
        """The `Retriever` protocol over whatever generation is live at each question."""
        return _LiveRetriever(self)

    def chat_options(self) -> ChatOptions:
        """How questions are answered here (`RAG_LLM_*`, `RAG_ANSWER_*` settings)."""
        return params.chat_options(self.settings)

    def new_session(self, *, extractive: bool = False) -> ChatSession:
        """A chat session over the live index and the shared model (quoting without one)."""
        generator = None if extractive else self.generator()
        options = self.chat_options()
        try:
            return ChatSession(self.live_retriever(), generator, options, embedder=self.embedder)
        except ModelError as exc:  # e.g. a context window too small for the answer length
            self._drop_model(exc)
            return ChatSession(self.live_retriever(), None, options, embedder=self.embedder)

    def _drop_model(self, problem: ModelError) -> None:
        with self._lock:
            self._model_problem = problem
            self._generator = None

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

        # One file must not hold the only ingest slot for hours (docs/limits.md).
        settings = self.settings.replace(file_max_seconds=self.settings.app.app_file_max_seconds)
        return ingest_documents(
            paths,
            settings,
            embedder=self.embedder,
            seconds_name="RAG_APP_FILE_MAX_SECONDS",
            store=self.store,
            on_progress=on_progress,
            parser_processes=self._components.parser_processes,
            within=self.settings.ingest_root_paths(),
        )

    def start_ingest(self, label: str, run: Callable[[ProgressCallback], AddResult]) -> IngestJob:
        """Run an ingest in the background (see `service.ingest_job`); one at a time."""
        shared = self._shared()
        with self._lock:
            current = self._ingest_job
            if current is not None and not current.finished:
                raise RagError(
                    f"Documents are being added already ({current.label})",
                    hint="wait for it to finish, or stop it, then add these",
                )
            job = IngestJob(label, run)
            # With the index in PostgreSQL: one at a time across every process.
            self._ingest_job = shared.start(job) if shared is not None else job.start()
            return self._ingest_job

    def ingest_job(self) -> IngestJob | None:
        """The running ingest, or the last one (its result stays readable); with the index in
        PostgreSQL, also one that another process runs (`service.pg_state`)."""
        local, shared = self._ingest_job, self._shared()
        if shared is None or (local is not None and not local.finished):
            return local
        seen = shared.latest()
        if seen is not None and local is not None and seen.id == local.id:
            return local  # ours: its own error object, its end state at once
        return seen or local

    def _shared(self) -> SharedIngests | None:
        with self._lock:
            if self._shared_ingests is None and self.settings.store.url:
                self._shared_ingests = SharedIngests(self.settings.store.url, AddResult)
            return self._shared_ingests

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
        from wiring.stores import remove_documents

        return remove_documents(self.settings, sources, self.store)


class _LiveRetriever:
    """The `Retriever` protocol over whatever generation is live at each question."""

    def __init__(self, service: SharedService) -> None:
        self._service = service

    def search(self, query: str, k: int = 5, files: Sequence[str] | None = None) -> list[Passage]:
        return self._service.retriever().search(query, k, files)
