"""The peers' default answer pipeline: LangChain's RAG tutorial, with the same GGUF model.

Retrieval is `evals.langchain_default.LangChainDefault` (PyPDFLoader,
RecursiveCharacterTextSplitter 1000/200, all-MiniLM-L6-v2, FAISS, k = 4); the
prompt is the tutorial's "rag-prompt" (its hub text, written out here since the
hub cannot be reached); the model is `ChatLlamaCpp` over the same file, greedy,
with the same answer length limit as ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

RAG_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of "
    "retrieved context to answer the question. If you don't know the answer, just say "
    "that you don't know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)
K = 4


@dataclass(frozen=True)
class BaselineAnswer:
    text: str
    hits: tuple[tuple[str, int, int], ...]  # (source, page_start, page_end) of its context
    seconds: float
    first_token_s: float | None = None  # from the question to its first non-empty text


class LangChainRag:
    def __init__(self, retrieval, model: Path, *, n_ctx: int, max_tokens: int, threads: int):
        from langchain_community.chat_models import ChatLlamaCpp
        from langchain_core.prompts import ChatPromptTemplate

        self.retrieval = retrieval
        self.prompt = ChatPromptTemplate.from_messages([("human", RAG_PROMPT)])
        self.llm = ChatLlamaCpp(
            model_path=str(model),
            n_ctx=n_ctx,
            temperature=0.0,
            max_tokens=max_tokens,
            n_threads=threads or None,
            verbose=False,
        )

    def ask(self, question: str) -> BaselineAnswer:
        started = time.perf_counter()
        docs = self.retrieval.store.similarity_search(question, k=K)
        context = "\n\n".join(d.page_content for d in docs)
        # Streamed (greedy decoding gives the tokens `invoke` would) to time its first token
        # the way ours is timed: from the question, retrieval included.
        parts: list[str] = []
        first_token_s = None
        for chunk in self.llm.stream(
            self.prompt.invoke({"question": question, "context": context})
        ):
            text = str(chunk.content)
            if text and first_token_s is None:
                first_token_s = time.perf_counter() - started
            parts.append(text)
        hits = tuple(
            (
                self.retrieval.relative(d.metadata["source"]),
                d.metadata["page"] + 1,
                d.metadata["page"] + 1,
            )
            for d in docs
        )
        seconds = time.perf_counter() - started
        return BaselineAnswer("".join(parts).strip(), hits, seconds, first_token_s)
