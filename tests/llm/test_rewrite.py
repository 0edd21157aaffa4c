"""Follow-ups keep their subject: the issue's locale -> time zone conversation, scripted."""

from __future__ import annotations

from llm.rewrite import heuristic_query, standalone_query, substituted_query
from llm.types import Turn
from tests.fake_generator import ScriptedGenerator

LOCALE = [Turn("How do I reconfigure the system locale?", "Run dpkg-reconfigure locales [1].")]


def test_a_new_object_takes_the_previous_request():
    # Before: "reconfigure system locale What about the time zone?", which finds the
    # locale's pages again.
    assert heuristic_query("What about the time zone?", LOCALE) == (
        "How do I reconfigure the time zone?"
    )
    profile = [Turn("How do I set the output profile in Ghostscript?", "")]
    assert substituted_query("And the input profile?", profile) == (
        "How do I set the input profile in Ghostscript?"
    )


def test_a_follow_up_with_a_back_reference_is_not_substituted():
    assert substituted_query("And how do I undo that later?", LOCALE) is None
    assert substituted_query("What about it?", LOCALE) is None


def test_a_model_rewrite_that_loses_the_request_is_replaced():
    # Seen in the issue: the rewrite "time zone" searched R's Makeconf.
    model = ScriptedGenerator(["time zone"])
    assert standalone_query("What about the time zone?", LOCALE, model) == (
        "How do I reconfigure the time zone?"
    )
    keeps = ScriptedGenerator(["reconfigure the time zone"])
    assert standalone_query("What about the time zone?", LOCALE, keeps) == (
        "reconfigure the time zone"
    )
