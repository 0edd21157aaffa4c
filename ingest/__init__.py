"""Ingest: files -> pages -> chunks -> vectors -> index, incrementally and crash-safe. The first
stage of the flow; it embeds through `embed` and writes through `index`'s `IndexWriting`.

The command and one run:
    `__main__`      `python -m ingest`, the command line
    `cli`           that command: progress and summary on stderr, `--json`, exit codes
    `options`       `IngestOptions`: what one run needs, filled from the settings at the edges
    `pipeline`      `run_ingest`: plans, parses in workers, chunks, embeds, commits at checkpoints
    `signals`       SIGTERM ends a run as Ctrl-C does, so finished files are kept

Files:
    `save_upload`   files from the browser: checked by content, named safely, never clobbered
    `discover`      the PDFs under the paths given, and each entry that is not one, with why
    `file_checks`   reading a user's file without trusting it: no pipe, device or endless file
    `identity`      which document a found file is, and the name users see for it
    `plan`          what the run must do: new, changed, unchanged, gone or unreadable files

Pages, in worker processes:
    `parse_pool`    parser processes that may crash, hang or be killed without harm
    `structure`     a PDF's title and outline; the section path of every place in it
    `extract`       opens a PDF with a text backend and reads it as cleaned pages, in batches
    `pdf_pdfium`    the pypdfium2 text backend (fast, keeps word breaks): the default
    `pdf_pypdf`     the pypdf text backend: the fallback
    `pdf_common`    what both backends' documents share: closing on leaving `with`
    `ocr/`          pages without a usable text layer, read by local OCR
    `clean`         raw page text -> clean text: ligatures, hyphens, whitespace, repeated lines

Chunks and vectors, in this process:
    `run_loop`      parse -> chunk -> embed -> write per file in flight; a failure skips one file
    `progress`      `Progress`: the snapshot an ingest reports to its caller's progress bar
    `file_notes`    what an ingest says of a file indexed in part or not at all, and why
    `stages`        where the time goes: seconds in parse, wait, chunk, embed and write
    `caps`          per-file caps (text, chunks, time): past one, the file is skipped with why
    `header`        the "title › section" header embedded and keyword-indexed with each chunk
    `chunk`         token-bounded, streaming chunking that keeps page provenance
    `vector_check`  every batch of vectors checked (finite, shaped, unit length) before writing

Besides ingest:
    `manage`        removing documents from the index
"""
