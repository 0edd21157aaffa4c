"""The fakes follow the real parts they stand in for, so tests through them mean something."""

from __future__ import annotations

from core.types import Passage
from llm.prompt import user_message
from llm.types import GenerationParams, Message
from tests.app_fakes import first_passage_reply


def _passage(text: str) -> Passage:
    return Passage(text=text, source="a.pdf", page_start=3, page_end=3, score=0.9, chunk_id=1)


def test_the_scripted_app_model_quotes_the_first_source_of_the_real_prompt():
    first = _passage("Office hours are nine to five. The warranty lasts two years. <b>")
    prompt = user_message("How long does the warranty last?", [first, _passage("Other.")])
    reply = first_passage_reply([Message("user", prompt)])
    assert reply == "The documents say: The warranty lasts two years. <b> [1]"


def test_the_fixtures_give_the_fakes(fake_embedder, scripted_generator, fake_components):
    assert fake_embedder.embed(["a b"]).shape == (1, fake_embedder.info.dim)
    reply = scripted_generator(["Yes [1]."]).stream([Message("user", "?")], GenerationParams())
    assert "".join(reply) == "Yes [1]."
    assert fake_components.load_embedder(None).info.dim == fake_embedder.info.dim
