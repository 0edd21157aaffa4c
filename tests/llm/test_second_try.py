"""The second, narrower ask after a refusal: when it happens, what the model reads, and that
its answer passes the same checks as the first (scripted model, fake embedder)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from core.types import Passage
from llm.chat import ChatOptions, ChatSession
from llm.guard import QUOTE_LABEL
from llm.prompt import NOT_FOUND_ANSWER, REFUSAL_SENTINEL
from llm.second_try import SECOND_TRY_NOTE, SecondTryOptions, pick_passage
from llm.types import GenerationParams
from tests.fake_generator import ScriptedGenerator
from tests.fakes import FakeEmbedder

FILLER = " ".join(f"Section {i} describes the cabinet colour and the packaging." for i in range(12))
PASSAGES = [
    Passage("manual.pdf", 3, 3, 0.62, "Gray ink settings are listed in the printing chapter."),
    # The answer sits past the first 90 words: the first prompt's window cannot show it.
    Passage("manual.pdf", 7, 8, 0.55, f"{FILLER} Use the galdata package for degree nine."),
    Passage("other.pdf", 1, 1, 0.45, "Galois theory is a branch of abstract algebra."),
]
QUESTION = "Which package do I need for Galois groups of degree nine?"
ANSWER = "For Galois groups of degree nine you need the galdata package [2]."


class Fixed:
    def __init__(self, passages=PASSAGES) -> None:
        self.passages = passages

    def search(self, query, k=5, files=None):
        return self.passages[:k]


def ask(replies, passages=PASSAGES, **second_try):
    fake = ScriptedGenerator(replies)
    options = ChatOptions(
        sampling=GenerationParams(max_tokens=64),
        second_try=SecondTryOptions(**{"min_cosine": 0.3, **second_try}),
    )
    session = ChatSession(Fixed(passages), fake, options, embedder=FakeEmbedder())
    answer = session.ask(QUESTION)
    _ = answer.text
    return answer, fake


def test_a_refusal_is_asked_again_with_the_best_passage_alone_under_its_own_number():
    answer, fake = ask([REFUSAL_SENTINEL, ANSWER])
    assert len(fake.calls) == 2
    narrow = fake.calls[1][0][-1].content
    assert '<source id="2" file="manual.pdf" pages="pp. 7-8">' in narrow
    assert 'id="1"' not in narrow and 'id="3"' not in narrow
    assert narrow.index("galdata") < narrow.index("Question:")  # the window starts at it
    assert answer.text == ANSWER and answer.outcome == "answered"
    assert [c.n for c in answer.citations] == [2]
    assert SECOND_TRY_NOTE.format(n=2) in answer.notes
    assert "[second try, source 2]" in answer.raw


def test_an_invented_second_answer_is_not_shown():
    answer, fake = ask([REFUSAL_SENTINEL, "You need the sprockets toolkit version 12 [2]."])
    assert len(fake.calls) == 2
    assert "sprockets" not in answer.text and answer.outcome in {"quoted", "refused"}
    assert SECOND_TRY_NOTE.format(n=2) not in answer.notes


def test_a_second_refusal_gives_what_the_first_would_have():
    again, _ = ask([REFUSAL_SENTINEL, REFUSAL_SENTINEL])
    once, fake = ask([REFUSAL_SENTINEL], enabled=False)
    assert len(fake.calls) == 1
    assert (again.text, again.outcome) == (once.text, once.outcome)
    assert again.text.startswith((NOT_FOUND_ANSWER, QUOTE_LABEL))


def test_no_second_ask_after_a_supported_answer_or_with_no_near_sentence():
    answered, fake = ask([ANSWER])
    assert len(fake.calls) == 1 and answered.outcome == "answered"
    _, fake = ask([REFUSAL_SENTINEL, ANSWER], min_cosine=0.99)
    assert len(fake.calls) == 1


def test_no_second_ask_without_an_embedder():
    fake = ScriptedGenerator([REFUSAL_SENTINEL, ANSWER])
    session = ChatSession(Fixed(), fake, ChatOptions(sampling=GenerationParams(max_tokens=64)))
    assert session.ask(QUESTION).outcome != "answered" and len(fake.calls) == 1


def test_pick_passage_chooses_the_nearest_sentence_and_windows_from_it():
    pick = pick_passage(QUESTION, PASSAGES, FakeEmbedder(), SecondTryOptions(window_words=20))
    assert pick is not None and pick.number == 2
    assert pick.passage.text.endswith("Use the galdata package for degree nine.")
    assert len(pick.passage.text.split()) <= 20
    assert (pick.passage.source, pick.passage.pages) == ("manual.pdf", "pp. 7-8")


def test_an_unsupported_first_answer_is_asked_again_too():
    answer, fake = ask(["You need the sprockets toolkit version 12 [1].", ANSWER])
    assert len(fake.calls) == 2
    assert answer.text == ANSWER and answer.outcome == "answered"


def test_the_settings_reach_the_session():
    from core.settings import Settings
    from wiring.params import chat_options

    assert chat_options(Settings()).second_try == SecondTryOptions()
    off = chat_options(
        Settings(
            llm_second_try=False,
            llm_second_try_words=40,
            llm_second_try_keyword_weight=0.0,
            llm_second_try_context_sentences=0,
        )
    ).second_try
    assert (off.enabled, off.window_words, off.keyword_weight, off.context_sentences) == (
        False,
        40,
        0.0,
        0,
    )


def test_a_supported_second_answer_that_does_not_answer_the_question_is_not_shown():
    off_topic = "Section 3 describes the cabinet colour and the packaging [2]."
    answer, fake = ask([REFUSAL_SENTINEL, off_topic])
    assert len(fake.calls) == 2
    assert "cabinet" not in answer.text and answer.outcome in {"quoted", "refused"}
    shown, _ = ask([REFUSAL_SENTINEL, off_topic], min_answer_cosine=0.0)
    assert shown.outcome == "answered" and "cabinet" in shown.text  # supported by its words


def test_the_window_holding_the_questions_rarer_words_wins_over_a_nearer_sentence():
    question = "How do I change the intent for images?"
    found = [
        # Nearest by cosine (it shares the question's small words), but answers nothing.
        Passage("gs.pdf", 9, 9, 0.6, "How do I change the colour of the whole document? Read on."),
        Passage("gs.pdf", 14, 14, 0.5, "Objects differ. Images use the intent of -dImageIntent."),
    ]
    cosine_only = SecondTryOptions(min_cosine=0.0, keyword_weight=0.0, context_sentences=0)
    assert pick_passage(question, found, FakeEmbedder(), cosine_only).number == 1
    pick = pick_passage(question, found, FakeEmbedder(), SecondTryOptions(min_cosine=0.0))
    assert pick is not None and pick.number == 2 and "-dImageIntent" in pick.passage.text


def test_the_window_keeps_the_sentences_just_before_the_nearest_one():
    text = f"Intro words here now. Install galdata. Galois groups of degree nine need it. {FILLER}"
    found = [Passage("INSTALL.pdf", 9, 9, 0.6, text)]
    options = SecondTryOptions(min_cosine=0.0, keyword_weight=0.0, window_words=17)
    starts_at_it = pick_passage(
        QUESTION, found, FakeEmbedder(), replace(options, context_sentences=0)
    )
    assert starts_at_it.passage.text.startswith("Galois groups")
    assert "galdata" not in starts_at_it.passage.text
    pick = pick_passage(QUESTION, found, FakeEmbedder(), replace(options, context_sentences=1))
    assert "Install galdata. Galois groups of degree nine need it." in pick.passage.text
    assert len(pick.passage.text.split()) <= 17


class Recording(FakeEmbedder):
    """Remembers every text it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return super().embed(texts)


def test_the_refusal_path_embeds_each_sentence_once():
    embedder = Recording()
    fake = ScriptedGenerator([REFUSAL_SENTINEL, REFUSAL_SENTINEL])
    options = ChatOptions(
        sampling=GenerationParams(max_tokens=64), second_try=SecondTryOptions(min_cosine=0.3)
    )
    answer = ChatSession(Fixed(), fake, options, embedder=embedder).ask(QUESTION)
    _ = answer.text
    assert len(fake.calls) == 2  # the second ask was made, and refused too
    # The quotes were weighed (their sentences embedded) after the second ask chose its
    # window from the same sentences: each was embedded once, the question too.
    assert "Galois theory is a branch of abstract algebra." in embedder.texts
    assert embedder.texts.count(QUESTION) == 1
    assert [t for t, n in Counter(embedder.texts).items() if n > 1] == []
