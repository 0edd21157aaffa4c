"""One question's arithmetic on one core.

Embedding one short question and searching one vector are too little work to
share between threads. On this 2-core machine, busy with other processes,
waking a second OpenMP thread cost far more than it saved: a FAISS search of
94 vectors took 16 ms with two threads and 0.02 ms with one, and embedding a
question took 58 to 730 ms with two torch threads and 10 ms with one.

Both libraries keep their thread count per calling thread (OpenMP's
`nthreads-var`), so lowering it here, and restoring it after, leaves an ingest
running in another thread of the same process with its threads.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def single_threaded() -> Iterator[None]:
    """Within the block, FAISS and torch (if loaded) use one thread in this thread.

    >>> import faiss
    >>> before = faiss.omp_get_max_threads()
    >>> with single_threaded():
    ...     faiss.omp_get_max_threads()
    1
    >>> faiss.omp_get_max_threads() == before
    True
    """
    import faiss

    torch = sys.modules.get("torch")  # only if an embedder already imported it
    faiss_threads = faiss.omp_get_max_threads()
    torch_threads = torch.get_num_threads() if torch is not None else None
    faiss.omp_set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(faiss_threads)
        if torch is not None:
            torch.set_num_threads(torch_threads)
