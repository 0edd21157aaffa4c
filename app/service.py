"""What the app does, without Streamlit: ask, add documents, list and remove them, status.

One `AppService` per process (the UI keeps it in `st.cache_resource`), shared
by every browser session. What the API does too (the model and the live index,
loaded once; ingest, uploads, removal) is `service.shared.SharedService`; this
adds what only the page needs: conversations with the sidebar's tuning, the
installed models to switch between, and the cited PDF page itself.
"""

from __future__ import annotations

from pathlib import Path

from app.conversation import Conversation
from app.conversation_store import ConversationStore
from app.model_list import InstalledModel, installed_models
from app.page_render import MIN_COVERAGE, DocumentFile, PageRenderer, PageView, check_file
from app.shared_state import PgConversationStore
from core.errors import ModelError, RagError
from core.settings import Settings
from core.types import Passage
from index.manifest import DocumentRecord, Manifest
from service.components import Components
from service.ingest_job import IngestJob
from service.model_queue import ModelQueue
from service.protocols import LiveRetriever
from service.shared import AddResult, ModelStatus, SharedService, serves_concurrently
from service.uploads import Upload, check_within_roots

# The records the pages read from `AppService` (pages import them from here, not from
# the layers below).
__all__ = [
    "AddResult",
    "AppService",
    "DocumentRecord",
    "IngestJob",
    "LiveRetriever",
    "Manifest",
    "ModelStatus",
    "Upload",
    "check_within_roots",
]


class AppService(SharedService):
    def __init__(
        self, settings: Settings, components: Components, *, queue: ModelQueue | None = None
    ) -> None:
        super().__init__(settings, components, lane="app", queue=queue)
        # Rendered pages, shared by every browser session.
        self._renderer = PageRenderer(max_pixels=settings.app.page_max_pixels)
        self._conversations: PgConversationStore | None = None

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
        self.switch_model(self.settings.replace(llm_model=path))  # seconds: other pages go on

    def conversation_store(self) -> ConversationStore | PgConversationStore:
        """Where each browser session's conversation is kept: the database with the index
        in PostgreSQL (any app process reads it back), else `conversations_dir`."""
        if self.settings.store.url:
            with self._lock:
                if self._conversations is None:
                    self._conversations = PgConversationStore(self.settings.store.url)
                return self._conversations
        return ConversationStore(self.settings.paths.conversations_dir)

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

    def _turn(self, cancel):
        return self.queue.enter(self.lane, cancel=cancel)

    def new_conversation(self) -> Conversation:
        generator = self.generator()
        try:
            return Conversation(
                self.live_retriever(),
                generator,
                self.chat_options(),
                self.embedder,
                model_turn=None if serves_concurrently(generator) else self._turn,
            )
        except ModelError as exc:  # e.g. a context window too small for the answer length
            self._drop_model(exc)
            return Conversation(self.live_retriever(), None, self.chat_options(), self.embedder)
