"""Every refusal in OpenAI's error shape with the next step: bad input, keys, limits, state."""

from __future__ import annotations

import logging

import pytest

from core.errors import ModelError
from service.components import Components
from tests.api.conftest import api_settings, indexed, scripted, serve
from tests.fakes import FakeEmbedder

ASK = "/v1/chat/completions"


def question(text="How long does the warranty last?", **fields):
    return {"messages": [{"role": "user", "content": text}], **fields}


def assert_error(reply, status, code, param=None):
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["param"] == param
    assert "Next step:" in error["message"], error["message"]
    assert "Traceback" not in reply.text
    return error


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (b"{not json", "invalid_json", None),
        (b"[1, 2]", "invalid_json", None),
        (b"{}", "missing_field", "messages"),
        (b'{"messages": []}', "invalid_value", "messages"),
        (b'{"messages": [{"role": "user", "content": "   "}]}', "empty_question", "messages"),
        (b'{"messages": [{"role": "assistant", "content": "Hi"}]}', "invalid_messages", "messages"),
        (
            b'{"messages": [{"role": "user", "content": "q?"}], "temperature": 3}',
            "invalid_value",
            "temperature",
        ),
        (
            b'{"messages": [{"role": "user", "content": "q?"}], "max_tokens": "many"}',
            "invalid_value",
            "max_tokens",
        ),
        (
            b'{"messages": [{"role": "user", "content": "q?"}], "files": ["nope.pdf"]}',
            "unknown_file",
            "files",
        ),
    ],
)
def test_bad_requests_are_400_with_the_field_and_the_next_step(server, body, code, param):
    # No Content-Type on purpose: `curl -d` sends a form type, and JSON is read anyway.
    reply = server.client().post(ASK, content=body)
    assert_error(reply, 400, code, param)


def test_a_question_over_the_limit_is_refused(server):
    limit = server.service.settings.api.max_question_chars
    reply = server.client().post(ASK, json=question("why " * (limit // 4 + 1)))
    error = assert_error(reply, 400, "question_too_long", "messages")
    assert f"at most {limit:,}" in error["message"]


def test_unknown_paths_and_methods_answer_in_the_same_shape(server):
    assert_error(server.client().get("/v1/nothing"), 404, "not_found")
    assert_error(server.client().get(ASK), 405, "method_not_allowed")


def test_no_index_yet_says_to_add_documents(settings):
    with serve(settings, scripted()) as server:
        client = server.client()
        error = assert_error(client.post(ASK, json=question()), 404, "index_not_found")
        assert "POST /v1/documents" in error["message"]
        assert_error(client.post("/v1/search", json={"query": "x"}), 404, "index_not_found")
        assert client.get("/v1/documents").json()["data"] == []


def test_a_broken_model_is_503_and_the_extractive_model_still_answers(settings):
    indexed(settings, scripted())

    def refuse(_settings):
        raise ModelError("model.gguf is not a GGUF model", hint="download it again")

    with serve(settings, Components(lambda _s: FakeEmbedder(), refuse, 0)) as server:
        client = server.client()
        error = assert_error(client.post(ASK, json=question()), 503, "model_unavailable", "model")
        assert "not a GGUF model" in error["message"] and "'extractive'" in error["message"]
        quoted = client.post(ASK, json=question(model="extractive"))
        assert quoted.status_code == 200 and quoted.json()["outcome"] == "quoted"


def test_an_unexpected_failure_is_500_with_its_kind_and_never_a_traceback(settings, caplog):
    indexed(settings, scripted())

    class Broken(FakeEmbedder):
        def embed(self, texts):
            raise ZeroDivisionError("secret internals at /srv/private/path")

    broken = Components(lambda _s: Broken(), lambda _s: None, 0)
    with serve(settings, broken) as server, caplog.at_level(logging.ERROR, logger="api"):
        reply = server.client().post("/v1/search", json={"query": "warranty"})
    error = assert_error(reply, 500, "internal_error")
    assert "ZeroDivisionError" in error["message"] and "secret" not in reply.text
    assert "Traceback" in caplog.text or caplog.records[0].exc_info  # logged on the server


def test_keys_are_required_when_set_compared_exactly_and_never_logged(tmp_path, caplog):
    settings = api_settings(tmp_path, api_keys="k-one, k-two")
    indexed(settings, scripted())
    with caplog.at_level(logging.DEBUG), serve(settings, scripted()) as server:
        missing = server.client().get("/v1/models")
        error = assert_error(missing, 401, "missing_api_key")
        assert "Authorization: Bearer" in error["message"]
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        assert_error(server.client("k-thr").get("/v1/models"), 401, "invalid_api_key")
        assert server.client("k-two").get("/v1/models").status_code == 200
        assert server.client("k-one").post(ASK, json=question()).status_code == 200
        wrong_scheme = server.client().get("/v1/models", headers={"Authorization": "k-one"})
        assert_error(wrong_scheme, 401, "invalid_api_key")
        assert server.client().get("/health").json() == {"status": "ok"}  # says nothing
    assert "k-one" not in caplog.text and "k-two" not in caplog.text
    assert "k-one" not in repr(settings) and "k-one" not in settings.model_dump_json()


def test_bodies_over_the_limit_are_413_declared_or_streamed(tmp_path):
    settings = api_settings(tmp_path, api_max_request_kb=2)
    indexed(settings, scripted())
    big = question("warranty " + "x" * 3000)
    with serve(settings, scripted()) as server:
        client = server.client()
        error = assert_error(client.post(ASK, json=big), 413, "request_too_large")
        assert "RAG_API_MAX_REQUEST_KB" in error["message"]

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}]}'

        assert_error(client.post(ASK, content=chunked()), 413, "request_too_large")
        assert client.post(ASK, json=question()).status_code == 200  # the server is fine
