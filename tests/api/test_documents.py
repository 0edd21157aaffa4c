"""/v1/documents: uploads with the app's checks, server paths in the roots, progress, removal."""

from __future__ import annotations

import json
import time

import pytest

from service.components import Components
from tests.api.conftest import ROCKET, WARRANTY, api_settings, scripted, serve
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf, text_pdf_bytes

DOCS = "/v1/documents"


class SlowEmbedder(FakeEmbedder):
    """A slow machine's pace: 0.1 s per text embedded, so an ingest lasts a while."""

    def embed(self, texts):
        time.sleep(0.1 * len(texts))
        return super().embed(texts)


def upload(client, *files, **params):
    return client.post(DOCS, files=[("file", f) for f in files], params=params)


def test_uploaded_pdfs_are_checked_indexed_listed_searched_and_removed(settings):
    with serve(settings, scripted()) as server:
        client = server.client()
        reply = upload(
            client,
            ("warranty.pdf", WARRANTY, "application/pdf"),
            ("notes.pdf", b"just text", "application/pdf"),
            ("../../escape.pdf", ROCKET, "application/pdf"),
        )
        assert reply.status_code == 200, reply.text
        job = reply.json()
        assert job["state"] == "done" and job["report"]["added"] == ["escape.pdf", "warranty.pdf"]
        assert len(job["rejected"]) == 1 and "notes.pdf is not a PDF" in job["rejected"][0]
        assert sorted(p.name for p in settings.paths.documents_dir.iterdir()) == [
            "escape.pdf",
            "warranty.pdf",
        ]
        listed = client.get(DOCS).json()
        assert [d["name"] for d in listed["data"]] == ["escape.pdf", "warranty.pdf"]
        assert listed["data"][1]["pages"] == 2 and listed["ingest"] is None
        assert "path" not in json.dumps(listed)  # no server paths
        found = client.post("/v1/search", json={"query": "rocket engine", "k": 1}).json()
        assert [p["source"] for p in found["data"]] == ["escape.pdf"] and found["data"][0]["n"] == 1
        removed = client.delete(f"{DOCS}/escape.pdf")
        assert removed.json() == {
            "object": "document.deleted",
            "name": "escape.pdf",
            "deleted": True,
        }
        assert [d["name"] for d in client.get(DOCS).json()["data"]] == ["warranty.pdf"]
        gone = client.delete(f"{DOCS}/escape.pdf")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "document_not_found"


def test_upload_limits_are_the_apps(settings):
    with serve(settings, scripted()) as server:
        client = server.client()
        many = [(f"{i}.pdf", WARRANTY, "application/pdf") for i in range(4)]  # limit: 3
        reply = upload(client, *many)
        assert reply.status_code == 413 and reply.json()["error"]["code"] == "invalid_upload"
        big = b"%PDF-1.4\n" + b"0" * 1_100_000  # limit: 1 MB
        reply = upload(client, ("big.pdf", big, "application/pdf"))
        assert reply.json()["report"] is None
        assert "over the 1 MB upload limit" in reply.json()["rejected"][0]
        empty = client.post(DOCS, files={"note": (None, "no file here")})
        assert empty.status_code == 400 and empty.json()["error"]["param"] == "file"
        kind = client.post(DOCS, content=b"%PDF", headers={"Content-Type": "application/pdf"})
        assert (
            kind.status_code == 415 and "curl -F file=@doc.pdf" in kind.json()["error"]["message"]
        )


def test_a_folder_on_the_server_is_ingested_only_inside_the_roots(settings, tmp_path):
    folder = tmp_path / "manuals"
    folder.mkdir()
    text_pdf(folder / "pump.pdf", ["Service the pump every 90 days."])
    with serve(settings, scripted()) as server:
        client = server.client()
        reply = client.post(DOCS, json={"path": str(folder)})
        assert reply.status_code == 200 and reply.json()["report"]["added"] == ["pump.pdf"]
        outside = client.post(DOCS, json={"path": "/etc"})
        assert outside.status_code == 403
        assert outside.json()["error"]["code"] == "outside_ingest_roots"
        assert "RAG_INGEST_ROOTS" in outside.json()["error"]["message"]
        missing = client.post(DOCS, json={"path": str(tmp_path / "nope")})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "path_not_found"
        assert client.post(DOCS, json={}).json()["error"]["code"] == "missing_field"


@pytest.mark.slow
def test_a_long_ingest_is_followed_stopped_and_refuses_a_second_one(tmp_path):
    settings = api_settings(tmp_path, embedding_batch_size=1)  # one file after another
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        text_pdf(folder / f"doc{i:02}.pdf", [f"Document number {i} is about topic {i}."])
    slow = Components(lambda _s: SlowEmbedder(), lambda _s: None, parser_processes=0)
    with serve(settings, slow) as server:
        client = server.client()
        started = client.post(DOCS, json={"path": str(folder)}, params={"wait": 0})
        assert started.status_code == 202
        job = started.json()
        assert job["state"] == "running" and started.headers["Location"] == job["url"]
        busy = upload(client, ("x.pdf", text_pdf_bytes(["x"]), "application/pdf"))
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "ingest_running"
        assert client.get(DOCS).json()["ingest"]["id"] == job["id"]
        with client.stream("GET", job["url"], params={"stream": "true"}) as events:
            lines = events.iter_lines()
            progress = None
            for line in lines:
                if line.startswith("data: {"):
                    progress = json.loads(line[6:])
                    if progress["progress"] and progress["progress"]["files_done"] >= 1:
                        break
        assert progress["state"] == "running" and "of 12 files" in progress["status"]
        stopped = client.delete(job["url"]).json()
        deadline = time.monotonic() + 30
        while stopped["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
            stopped = client.get(job["url"]).json()
        assert stopped["state"] == "stopped"
        kept = [d["name"] for d in client.get(DOCS).json()["data"]]
        assert 1 <= len(kept) < 12  # the files finished before Stop stay indexed
        assert client.get(f"{DOCS}/jobs/999").json()["error"]["code"] == "job_not_found"
