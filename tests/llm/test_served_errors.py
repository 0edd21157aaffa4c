"""The served generator against a scripted server: every way a server fails gets a clear error.

Each test makes `tests.llm.served_stub.StubServer` misbehave in one way (unreachable,
wrong model, slow, a stream dropped mid-answer, HTML instead of JSON, ...) and checks
the `ModelError` says what happened and what to do next. Fast: no model anywhere.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from core.errors import ContextTooSmallError, ModelError
from llm.openai_backend import ServedOptions, connect_served_generator
from llm.types import GenerationParams, Message
from tests.llm.served_stub import Request, StubServer, chat, chunk

MESSAGES = [Message("system", "Answer from the sources."), Message("user", "How long?")]
PARAMS = GenerationParams(max_tokens=16, temperature=0.0)


def connect(stub: StubServer, **options) -> object:
    return connect_served_generator(ServedOptions(stub.url, **options))


def answer(stub: StubServer, **options) -> tuple[list[str], ModelError | None]:
    """The pieces received, and the error that ended the stream (if any)."""
    gen = connect(stub, **options)
    pieces: list[str] = []
    try:
        for piece in gen.stream(MESSAGES, PARAMS):
            pieces.append(piece)
    except ModelError as exc:
        return pieces, exc
    return pieces, None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_well_behaved_server_streams_the_answer():
    with StubServer() as stub:
        pieces, error = answer(stub)
    assert error is None and "".join(pieces) == "Two years [1]."


def test_an_unreachable_server_says_so_and_how_to_start_one():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError, match="cannot reach the model server at " + url) as caught:
        connect_served_generator(ServedOptions(url))
    assert "RAG_LLM_URL" in caught.value.hint and "llama_cpp.server" in caught.value.hint


def test_a_wrong_model_name_lists_the_served_ones():
    with StubServer() as stub, pytest.raises(ModelError, match="named 'qwen'") as caught:
        connect(stub, model="qwen")
    assert "it serves: 'stub'" in caught.value.message
    assert "RAG_LLM_SERVED_MODEL" in caught.value.hint


def test_several_models_and_none_named_asks_which():
    def two(request: Request) -> None:
        request.json({"data": [{"id": "a"}, {"id": "b"}]})

    with StubServer({("GET", "/v1/models"): two}) as stub:
        with pytest.raises(ModelError, match="serves 2 models"):
            connect(stub)
        assert connect(stub, model="b").model == "b"


def test_a_server_that_does_not_answer_in_time_times_out_with_the_setting_to_raise():
    def slow(request: Request) -> None:
        if not request.body.get("stream"):
            return chat(request)
        request.start_events()
        request.client_gone(within=3)  # the prompt is "evaluated" for 3 s

    with StubServer({("POST", "/v1/chat/completions"): slow}) as stub:
        started = time.monotonic()
        pieces, error = answer(stub, timeout_s=0.5)
    assert time.monotonic() - started < 2.5
    assert pieces == [] and error is not None
    assert "did not answer within 0.5 s (before the answer's first word)" in error.message
    assert "RAG_LLM_TIMEOUT_SECONDS" in error.hint


def stream_then(ending):
    """A chat route that streams two pieces, then ends the way `ending(request)` does."""

    def route(request: Request) -> None:
        if not request.body.get("stream"):
            return chat(request)
        request.start_events(chunked=getattr(ending, "chunked", True))
        request.event(chunk("Two years"))
        request.event(chunk(" [1]."))
        ending(request)

    return {("POST", "/v1/chat/completions"): route}


def test_a_stream_dropped_mid_answer_is_an_error_not_a_short_answer():
    def crash(request: Request) -> None:
        request.handler.connection.shutdown(socket.SHUT_RDWR)  # the server dies

    with StubServer(stream_then(crash)) as stub:
        pieces, error = answer(stub)
    assert "".join(pieces) == "Two years [1]."  # what came is shown
    assert error is not None and "after 14 characters of the answer" in error.message
    assert "broke" in error.message and "server's log" in error.hint


def test_a_stream_closed_cleanly_without_an_ending_is_an_error_too():
    def close(request: Request) -> None:
        pass  # no finish_reason, no [DONE]: the connection just ends

    close.chunked = False
    with StubServer(stream_then(close)) as stub:
        pieces, error = answer(stub)
    assert len(pieces) == 2 and error is not None
    assert "closed the answer's stream before it was finished" in error.message


def test_an_answer_ended_by_another_request_names_llama_cpp_pythons_setting():
    def interrupted(request: Request) -> None:
        request.event("[DONE]")  # what llama-cpp-python sends when a new request arrives
        request.end_events()

    with StubServer(stream_then(interrupted)) as stub:
        _, error = answer(stub)
    assert error is not None and "interrupted" in error.message
    assert "--interrupt_requests False" in error.hint


def test_a_web_page_instead_of_json_points_at_the_url():
    def html(request: Request) -> None:
        request.raw(b"<!doctype html><html><body>Sign in to the proxy</body></html>")

    with (
        StubServer({("GET", "/v1/models"): html}) as stub,
        pytest.raises(ModelError, match="not JSON") as caught,
    ):
        connect(stub)
    assert "text/html: '<!doctype html><html><body>Sign in" in caught.value.message
    assert "RAG_LLM_URL" in caught.value.hint and "/v1" in caught.value.hint


def test_a_stream_of_non_json_events_is_reported():
    def garbage(request: Request) -> None:
        request.event("<html>502 Bad Gateway</html>")
        request.end_events()

    with StubServer(stream_then(garbage)) as stub:
        pieces, error = answer(stub)
    assert len(pieces) == 2 and error is not None
    assert "not JSON" in error.message and "502 Bad Gateway" in error.message


def test_the_key_is_sent_and_a_refused_one_says_which_setting():
    def guarded(request: Request) -> None:
        if request.headers.get("Authorization") != "Bearer right":
            request.json({"error": {"message": "Invalid API key"}}, 401)
        else:
            request.json({"data": [{"id": "stub"}]})

    with StubServer({("GET", "/v1/models"): guarded}) as stub:
        with pytest.raises(
            ModelError, match=r"refused the request \(401: Invalid API key"
        ) as caught:
            connect(stub, api_key="wrong")
        assert "RAG_LLM_API_KEY" in caught.value.hint
        assert connect(stub, api_key="right").model == "stub"


def test_a_url_without_the_api_path_is_explained():
    with (
        StubServer({("GET", "/v1/models"): lambda r: r.json({"detail": "Not Found"}, 404)}) as stub,
        pytest.raises(ModelError, match="has no /v1/models") as caught,
    ):
        connect(stub)
    assert "usually ending in /v1" in caught.value.hint


def test_a_server_context_smaller_than_the_setting_is_a_context_error():
    def refuse(request: Request) -> None:
        message = "Requested tokens (5000) exceed context window of 2048"
        request.json({"error": {"message": message, "type": "invalid_request_error"}}, 400)

    with StubServer(stream_then(refuse)) as stub:
        gen = connect(stub)
        stub.routes[("POST", "/v1/chat/completions")] = refuse
        with pytest.raises(ContextTooSmallError, match="context window of 2048") as caught:
            list(gen.stream(MESSAGES, PARAMS))
    assert "RAG_LLM_N_CTX" in caught.value.hint


def test_stop_while_the_server_evaluates_the_prompt_closes_the_request_at_once():
    seen: dict[str, float] = {}

    def thinking(request: Request) -> None:
        if not request.body.get("stream"):
            return chat(request)
        request.start_events()
        started = time.monotonic()
        if request.client_gone(within=10):  # still "evaluating" when the user presses Stop
            seen["gone_after"] = time.monotonic() - started

    with StubServer({("POST", "/v1/chat/completions"): thinking}) as stub:
        stream = connect(stub).stream(MESSAGES, PARAMS)
        pieces: list[str] = []
        reader = threading.Thread(target=lambda: pieces.extend(stream))
        reader.start()
        time.sleep(0.4)
        assert stream.stage == "reading"
        stream.cancel()  # from another thread, as the app's Stop does
        reader.join(timeout=2)
        for _ in range(20):
            if "gone_after" in seen:
                break
            time.sleep(0.05)
    assert not reader.is_alive() and pieces == []
    assert seen["gone_after"] < 1.5  # the server saw the client go, not its 10 s later


def test_stop_between_pieces_ends_the_stream_quietly():
    with StubServer() as stub:
        stream = connect(stub).stream(MESSAGES, PARAMS)
        first = next(stream)
        stream.close()
        assert first == "Two years" and list(stream) == []


def test_an_empty_stream_is_explained_by_the_servers_own_error():
    def empty_stream(request: Request) -> None:  # llama-cpp-python, a prompt over its context
        if request.body.get("stream"):
            request.start_events()
            request.end_events()
        else:
            message = "Requested tokens (700) exceed context window of 512"
            request.json({"error": {"message": message}}, 400)

    with StubServer() as stub:
        gen = connect(stub)
        stub.routes[("POST", "/v1/chat/completions")] = empty_stream
        with pytest.raises(ContextTooSmallError, match="context window of 512"):
            list(gen.stream(MESSAGES, PARAMS))
